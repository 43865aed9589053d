// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface RolloutSlot {
  'slot'?: (number);
  'instance'?: (string);
  'host'?: (string);
  'revision'?: (number | string | Long);
  'phase'?: (string);
  'healthy_since_ms'?: (number | string | Long);
  'draining_since_ms'?: (number | string | Long);
  'surge_host'?: (string);
  'surge_revision'?: (number | string | Long);
  'surge_phase'?: (string);
  'done'?: (boolean);
  'in_batch'?: (boolean);
  'why'?: (string);
}

export interface RolloutSlot__Output {
  'slot': (number);
  'instance': (string);
  'host': (string);
  'revision': (number);
  'phase': (string);
  'healthy_since_ms': (number);
  'draining_since_ms': (number);
  'surge_host': (string);
  'surge_revision': (number);
  'surge_phase': (string);
  'done': (boolean);
  'in_batch': (boolean);
  'why': (string);
}
