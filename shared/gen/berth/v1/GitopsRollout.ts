// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface GitopsRollout {
  'service'?: (string);
  'from_revision'?: (number | string | Long);
  'to_revision'?: (number | string | Long);
}

export interface GitopsRollout__Output {
  'service': (string);
  'from_revision': (number);
  'to_revision': (number);
}
