// Original file: proto/berth/v1/operator.proto


export interface LogsRequest {
  'service'?: (string);
  'host'?: (string);
  'install'?: (boolean);
  'follow'?: (boolean);
  'tail'?: (number);
}

export interface LogsRequest__Output {
  'service': (string);
  'host': (string);
  'install': (boolean);
  'follow': (boolean);
  'tail': (number);
}
