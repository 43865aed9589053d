// Original file: proto/berth/v1/agent.proto


export interface MoveOn {
  'reason'?: (string);
  'preferred'?: (string);
  'store_unavailable'?: (boolean);
}

export interface MoveOn__Output {
  'reason': (string);
  'preferred': (string);
  'store_unavailable': (boolean);
}
