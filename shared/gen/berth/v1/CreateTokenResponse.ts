// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateTokenResponse {
  'token'?: (string);
  'id'?: (string);
  'role'?: (string);
  'expires_at_ms'?: (number | string | Long);
  'uses'?: (number);
}

export interface CreateTokenResponse__Output {
  'token': (string);
  'id': (string);
  'role': (string);
  'expires_at_ms': (number);
  'uses': (number);
}
