// Original file: proto/berth/v1/operator.proto

import type { CaCertInfo as _berth_v1_CaCertInfo, CaCertInfo__Output as _berth_v1_CaCertInfo__Output } from '../../berth/v1/CaCertInfo.js';
import type { Long } from '@grpc/proto-loader';

export interface CaStatus {
  'phase'?: (string);
  'current'?: (_berth_v1_CaCertInfo | null);
  'next'?: (_berth_v1_CaCertInfo | null);
  'started_at_ms'?: (number | string | Long);
  'started_by'?: (string);
  'hosts_on_old'?: (string)[];
  'hosts_on_new'?: (string)[];
  'bundle_pem'?: (string);
  'retired'?: (_berth_v1_CaCertInfo | null);
  'retired_at_ms'?: (number | string | Long);
  'spread_ms'?: (number | string | Long);
}

export interface CaStatus__Output {
  'phase': (string);
  'current': (_berth_v1_CaCertInfo__Output | null);
  'next': (_berth_v1_CaCertInfo__Output | null);
  'started_at_ms': (number);
  'started_by': (string);
  'hosts_on_old': (string)[];
  'hosts_on_new': (string)[];
  'bundle_pem': (string);
  'retired': (_berth_v1_CaCertInfo__Output | null);
  'retired_at_ms': (number);
  'spread_ms': (number);
}
