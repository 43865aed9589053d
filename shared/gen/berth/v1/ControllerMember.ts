// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface ControllerMember {
  'id'?: (string);
  'address'?: (string);
  'leader'?: (boolean);
  'started_at_ms'?: (number | string | Long);
  'agents'?: (number);
  'self'?: (boolean);
  'store_state'?: (string);
  'store_unreachable_since_ms'?: (number | string | Long);
  'store_error'?: (string);
  'gone_since_ms'?: (number | string | Long);
  'left'?: (boolean);
}

export interface ControllerMember__Output {
  'id': (string);
  'address': (string);
  'leader': (boolean);
  'started_at_ms': (number);
  'agents': (number);
  'self': (boolean);
  'store_state': (string);
  'store_unreachable_since_ms': (number);
  'store_error': (string);
  'gone_since_ms': (number);
  'left': (boolean);
}
