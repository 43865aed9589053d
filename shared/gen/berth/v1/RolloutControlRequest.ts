// Original file: proto/berth/v1/operator.proto


export interface RolloutControlRequest {
  'service'?: (string);
  'action'?: (string);
}

export interface RolloutControlRequest__Output {
  'service': (string);
  'action': (string);
}
