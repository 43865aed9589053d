// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface TrustBundle {
  'ca_pem'?: (string);
  'renew_within_ms'?: (number | string | Long);
}

export interface TrustBundle__Output {
  'ca_pem': (string);
  'renew_within_ms': (number);
}
