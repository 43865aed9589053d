// Original file: proto/berth/v1/operator.proto


export interface FieldChange {
  'path'?: (string);
  'from_json'?: (string);
  'to_json'?: (string);
}

export interface FieldChange__Output {
  'path': (string);
  'from_json': (string);
  'to_json': (string);
}
