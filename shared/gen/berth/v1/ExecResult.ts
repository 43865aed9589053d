// Original file: proto/berth/v1/operator.proto


export interface ExecResult {
  'code'?: (number);
  'signal'?: (string);
}

export interface ExecResult__Output {
  'code': (number);
  'signal': (string);
}
