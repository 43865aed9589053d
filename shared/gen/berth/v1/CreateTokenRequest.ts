// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateTokenRequest {
  'role'?: (string);
  'ttl_seconds'?: (number | string | Long);
  'uses'?: (number);
  'description'?: (string);
}

export interface CreateTokenRequest__Output {
  'role': (string);
  'ttl_seconds': (number);
  'uses': (number);
  'description': (string);
}
