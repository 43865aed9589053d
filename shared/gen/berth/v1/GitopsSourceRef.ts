// Original file: proto/berth/v1/operator.proto


export interface GitopsSourceRef {
  'name'?: (string);
}

export interface GitopsSourceRef__Output {
  'name': (string);
}
