// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface StoreRevisionCheck {
  'revision'?: (number | string | Long);
}

export interface StoreRevisionCheck__Output {
  'revision': (number);
}
