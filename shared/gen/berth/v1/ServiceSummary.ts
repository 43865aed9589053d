// Original file: proto/berth/v1/operator.proto

import type { ReconcileError as _berth_v1_ReconcileError, ReconcileError__Output as _berth_v1_ReconcileError__Output } from '../../berth/v1/ReconcileError.js';
import type { Long } from '@grpc/proto-loader';

export interface ServiceSummary {
  'name'?: (string);
  'desired'?: (number);
  'healthy'?: (number);
  'revision'?: (number | string | Long);
  'artifact'?: (string);
  'unplaced'?: (string)[];
  'reconcile_error'?: (_berth_v1_ReconcileError | null);
  'environment'?: (string);
  'owner'?: (string);
}

export interface ServiceSummary__Output {
  'name': (string);
  'desired': (number);
  'healthy': (number);
  'revision': (number);
  'artifact': (string);
  'unplaced': (string)[];
  'reconcile_error': (_berth_v1_ReconcileError__Output | null);
  'environment': (string);
  'owner': (string);
}
