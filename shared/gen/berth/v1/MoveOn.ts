// Original file: proto/berth/v1/agent.proto


export interface MoveOn {
  'reason'?: (string);
  'preferred'?: (string);
}

export interface MoveOn__Output {
  'reason': (string);
  'preferred': (string);
}
