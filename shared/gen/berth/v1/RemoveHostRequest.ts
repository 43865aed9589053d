// Original file: proto/berth/v1/operator.proto


export interface RemoveHostRequest {
  'id'?: (string);
}

export interface RemoveHostRequest__Output {
  'id': (string);
}
