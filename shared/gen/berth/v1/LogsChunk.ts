// Original file: proto/berth/v1/operator.proto


export interface LogsChunk {
  'host'?: (string);
  'instance'?: (string);
  'data'?: (string);
}

export interface LogsChunk__Output {
  'host': (string);
  'instance': (string);
  'data': (string);
}
