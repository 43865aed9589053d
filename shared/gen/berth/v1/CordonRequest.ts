// Original file: proto/berth/v1/operator.proto


export interface CordonRequest {
  'id'?: (string);
}

export interface CordonRequest__Output {
  'id': (string);
}
