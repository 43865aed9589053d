// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadReceipt {
  'token'?: (number | string | Long);
}

export interface ReadReceipt__Output {
  'token': (number);
}
