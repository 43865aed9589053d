// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecClose {
  'session_id'?: (number | string | Long);
  'reason'?: (string);
}

export interface ExecClose__Output {
  'session_id': (number);
  'reason': (string);
}
