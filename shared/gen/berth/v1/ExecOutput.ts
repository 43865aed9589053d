// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecOutput {
  'session_id'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'stderr'?: (boolean);
  'ack'?: (number | string | Long);
}

export interface ExecOutput__Output {
  'session_id': (number);
  'data': (Buffer);
  'stderr': (boolean);
  'ack': (number);
}
