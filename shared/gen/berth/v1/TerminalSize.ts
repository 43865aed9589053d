// Original file: proto/berth/v1/operator.proto


export interface TerminalSize {
  'rows'?: (number);
  'cols'?: (number);
}

export interface TerminalSize__Output {
  'rows': (number);
  'cols': (number);
}
