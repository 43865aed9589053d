// Original file: proto/berth/v1/operator.proto

import type { InstanceView as _berth_v1_InstanceView, InstanceView__Output as _berth_v1_InstanceView__Output } from '../../berth/v1/InstanceView.js';
import type { ReconcileError as _berth_v1_ReconcileError, ReconcileError__Output as _berth_v1_ReconcileError__Output } from '../../berth/v1/ReconcileError.js';
import type { Long } from '@grpc/proto-loader';

export interface ServiceStatus {
  'name'?: (string);
  'revision'?: (number | string | Long);
  'spec_json'?: (string);
  'instances'?: (_berth_v1_InstanceView)[];
  'now_ms'?: (number | string | Long);
  'reconcile_error'?: (_berth_v1_ReconcileError | null);
}

export interface ServiceStatus__Output {
  'name': (string);
  'revision': (number);
  'spec_json': (string);
  'instances': (_berth_v1_InstanceView__Output)[];
  'now_ms': (number);
  'reconcile_error': (_berth_v1_ReconcileError__Output | null);
}
