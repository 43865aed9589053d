// Original file: proto/berth/v1/operator.proto


export interface ForgetControllerRequest {
  'id'?: (string);
}

export interface ForgetControllerRequest__Output {
  'id': (string);
}
