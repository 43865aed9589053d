// Original file: proto/berth/v1/operator.proto


export interface GetHostRequest {
  'id'?: (string);
}

export interface GetHostRequest__Output {
  'id': (string);
}
