// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecInput {
  'session_id'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'eof'?: (boolean);
  'ack'?: (number | string | Long);
}

export interface ExecInput__Output {
  'session_id': (number);
  'data': (Buffer);
  'eof': (boolean);
  'ack': (number);
}
