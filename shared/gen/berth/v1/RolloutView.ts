// Original file: proto/berth/v1/operator.proto

import type { RolloutSlot as _berth_v1_RolloutSlot, RolloutSlot__Output as _berth_v1_RolloutSlot__Output } from '../../berth/v1/RolloutSlot.js';
import type { Long } from '@grpc/proto-loader';

export interface RolloutView {
  'service'?: (string);
  'exists'?: (boolean);
  'from_revision'?: (number | string | Long);
  'to_revision'?: (number | string | Long);
  'status'?: (string);
  'reason'?: (string);
  'started_at_ms'?: (number | string | Long);
  'last_progress_at_ms'?: (number | string | Long);
  'batch'?: (number)[];
  'done'?: (number);
  'total'?: (number);
  'promoted'?: (boolean);
  'auto_reverted'?: (boolean);
  'canary'?: (number);
  'slots'?: (_berth_v1_RolloutSlot)[];
  'now_ms'?: (number | string | Long);
  'current_revision'?: (number | string | Long);
  'ended_at_ms'?: (number | string | Long);
}

export interface RolloutView__Output {
  'service': (string);
  'exists': (boolean);
  'from_revision': (number);
  'to_revision': (number);
  'status': (string);
  'reason': (string);
  'started_at_ms': (number);
  'last_progress_at_ms': (number);
  'batch': (number)[];
  'done': (number);
  'total': (number);
  'promoted': (boolean);
  'auto_reverted': (boolean);
  'canary': (number);
  'slots': (_berth_v1_RolloutSlot__Output)[];
  'now_ms': (number);
  'current_revision': (number);
  'ended_at_ms': (number);
}
