// Original file: proto/berth/v1/operator.proto

import type { LeftCopyView as _berth_v1_LeftCopyView, LeftCopyView__Output as _berth_v1_LeftCopyView__Output } from '../../berth/v1/LeftCopyView.js';
import type { Long } from '@grpc/proto-loader';

export interface InstanceView {
  'instance'?: (string);
  'slot'?: (number);
  'host'?: (string);
  'host_address'?: (string);
  'state'?: (string);
  'detail'?: (string);
  'epoch'?: (number | string | Long);
  'revision'?: (number | string | Long);
  'restarts'?: (number);
  'since_ms'?: (number | string | Long);
  'pinned_host'?: (string);
  'reason'?: (string);
  'install_tail'?: (string);
  'resources_enforced'?: (boolean);
  'resources_note'?: (string);
  'moving_to'?: (string);
  'pid'?: (number);
  'left_on'?: (_berth_v1_LeftCopyView)[];
  'stuck'?: (boolean);
  'waiting'?: (string);
}

export interface InstanceView__Output {
  'instance': (string);
  'slot': (number);
  'host': (string);
  'host_address': (string);
  'state': (string);
  'detail': (string);
  'epoch': (number);
  'revision': (number);
  'restarts': (number);
  'since_ms': (number);
  'pinned_host': (string);
  'reason': (string);
  'install_tail': (string);
  'resources_enforced': (boolean);
  'resources_note': (string);
  'moving_to': (string);
  'pid': (number);
  'left_on': (_berth_v1_LeftCopyView__Output)[];
  'stuck': (boolean);
  'waiting': (string);
}
