// Original file: proto/berth/v1/operator.proto


export interface SecretRef {
  'name'?: (string);
}

export interface SecretRef__Output {
  'name': (string);
}
