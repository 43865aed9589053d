// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface FailoverState {
  'paused'?: (boolean);
  'reason'?: (string);
  'since_ms'?: (number | string | Long);
}

export interface FailoverState__Output {
  'paused': (boolean);
  'reason': (string);
  'since_ms': (number);
}
