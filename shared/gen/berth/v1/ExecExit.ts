// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecExit {
  'session_id'?: (number | string | Long);
  'code'?: (number);
  'signal'?: (string);
  'error'?: (string);
}

export interface ExecExit__Output {
  'session_id': (number);
  'code': (number);
  'signal': (string);
  'error': (string);
}
