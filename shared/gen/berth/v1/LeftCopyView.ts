// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface LeftCopyView {
  'host'?: (string);
  'epoch'?: (number | string | Long);
  'at_ms'?: (number | string | Long);
}

export interface LeftCopyView__Output {
  'host': (string);
  'epoch': (number);
  'at_ms': (number);
}
