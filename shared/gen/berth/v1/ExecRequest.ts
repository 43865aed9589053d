// Original file: proto/berth/v1/operator.proto


export interface ExecRequest {
  'host'?: (string);
  'service'?: (string);
  'instance'?: (string);
  'command'?: (string)[];
  'tty'?: (boolean);
  'rows'?: (number);
  'cols'?: (number);
  'term'?: (string);
}

export interface ExecRequest__Output {
  'host': (string);
  'service': (string);
  'instance': (string);
  'command': (string)[];
  'tty': (boolean);
  'rows': (number);
  'cols': (number);
  'term': (string);
}
