// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface RotateCaRequest {
  'spread_ms'?: (number | string | Long);
}

export interface RotateCaRequest__Output {
  'spread_ms': (number);
}
