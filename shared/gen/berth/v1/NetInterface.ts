// Original file: proto/berth/v1/common.proto


export interface NetInterface {
  'name'?: (string);
  'mac'?: (string);
  'addresses'?: (string)[];
  'internal'?: (boolean);
}

export interface NetInterface__Output {
  'name': (string);
  'mac': (string);
  'addresses': (string)[];
  'internal': (boolean);
}
