// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface CaCertInfo {
  'fingerprint'?: (string);
  'not_after_ms'?: (number | string | Long);
  'subject'?: (string);
}

export interface CaCertInfo__Output {
  'fingerprint': (string);
  'not_after_ms': (number);
  'subject': (string);
}
