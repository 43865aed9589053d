// Original file: proto/berth/v1/agent.proto


export interface HostRemoved {
  'reason'?: (string);
}

export interface HostRemoved__Output {
  'reason': (string);
}
