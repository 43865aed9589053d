// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface TokenInfo {
  'id'?: (string);
  'role'?: (string);
  'description'?: (string);
  'created_at_ms'?: (number | string | Long);
  'expires_at_ms'?: (number | string | Long);
  'last_used_at_ms'?: (number | string | Long);
  'revoked_at_ms'?: (number | string | Long);
  'created_by'?: (string);
  'revoked_by'?: (string);
  'uses_left'?: (number | string | Long);
  'was_revoked'?: (boolean);
}

export interface TokenInfo__Output {
  'id': (string);
  'role': (string);
  'description': (string);
  'created_at_ms': (number);
  'expires_at_ms': (number);
  'last_used_at_ms': (number);
  'revoked_at_ms': (number);
  'created_by': (string);
  'revoked_by': (string);
  'uses_left': (number);
  'was_revoked': (boolean);
}
