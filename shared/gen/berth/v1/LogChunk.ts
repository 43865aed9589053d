// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface LogChunk {
  'request_id'?: (number | string | Long);
  'data'?: (string);
  'eof'?: (boolean);
  'error'?: (string);
}

export interface LogChunk__Output {
  'request_id': (number);
  'data': (string);
  'eof': (boolean);
  'error': (string);
}
