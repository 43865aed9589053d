// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface LbApplied {
  'service'?: (string);
  'lb'?: (string);
  'kind'?: (string);
  'version'?: (string);
  'applied_at_ms'?: (number | string | Long);
  'servers'?: (number);
  'error'?: (string);
  'reported_at_ms'?: (number | string | Long);
}

export interface LbApplied__Output {
  'service': (string);
  'lb': (string);
  'kind': (string);
  'version': (string);
  'applied_at_ms': (number);
  'servers': (number);
  'error': (string);
  'reported_at_ms': (number);
}
