// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface ReconcileError {
  'message'?: (string);
  'since_ms'?: (number | string | Long);
  'at_ms'?: (number | string | Long);
  'attempts'?: (number);
  'retry_at_ms'?: (number | string | Long);
}

export interface ReconcileError__Output {
  'message': (string);
  'since_ms': (number);
  'at_ms': (number);
  'attempts': (number);
  'retry_at_ms': (number);
}
