// Original file: proto/berth/v1/operator.proto

import type { FieldChange as _berth_v1_FieldChange, FieldChange__Output as _berth_v1_FieldChange__Output } from '../../berth/v1/FieldChange.js';
import type { Long } from '@grpc/proto-loader';

export interface ServiceChange {
  'service'?: (string);
  'action'?: (string);
  'fields'?: (_berth_v1_FieldChange)[];
  'place'?: (number);
  'stop'?: (number);
  'unplaced'?: (string)[];
  'rollout_to'?: (number | string | Long);
  'artifact_sha256'?: (string);
  'artifact_environment'?: (string);
  'artifact_since_ms'?: (number | string | Long);
}

export interface ServiceChange__Output {
  'service': (string);
  'action': (string);
  'fields': (_berth_v1_FieldChange__Output)[];
  'place': (number);
  'stop': (number);
  'unplaced': (string)[];
  'rollout_to': (number);
  'artifact_sha256': (string);
  'artifact_environment': (string);
  'artifact_since_ms': (number);
}
