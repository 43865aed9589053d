// Original file: proto/berth/v1/operator.proto


export interface ServiceRef {
  'name'?: (string);
}

export interface ServiceRef__Output {
  'name': (string);
}
