// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface ListAuditRequest {
  'since_ms'?: (number | string | Long);
  'limit'?: (number);
}

export interface ListAuditRequest__Output {
  'since_ms': (number);
  'limit': (number);
}
