// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface Endpoint {
  'instance'?: (string);
  'host'?: (string);
  'address'?: (string);
  'port'?: (number);
  'epoch'?: (number | string | Long);
  'revision'?: (number | string | Long);
}

export interface Endpoint__Output {
  'instance': (string);
  'host': (string);
  'address': (string);
  'port': (number);
  'epoch': (number);
  'revision': (number);
}
