// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecResize {
  'session_id'?: (number | string | Long);
  'rows'?: (number);
  'cols'?: (number);
}

export interface ExecResize__Output {
  'session_id': (number);
  'rows': (number);
  'cols': (number);
}
