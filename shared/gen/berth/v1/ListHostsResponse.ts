// Original file: proto/berth/v1/operator.proto

import type { Host as _berth_v1_Host, Host__Output as _berth_v1_Host__Output } from '../../berth/v1/Host.js';
import type { FailoverState as _berth_v1_FailoverState, FailoverState__Output as _berth_v1_FailoverState__Output } from '../../berth/v1/FailoverState.js';
import type { Long } from '@grpc/proto-loader';

export interface ListHostsResponse {
  'hosts'?: (_berth_v1_Host)[];
  'now_ms'?: (number | string | Long);
  'failover'?: (_berth_v1_FailoverState | null);
  'environment'?: (string);
  'store_unreachable'?: (string);
}

export interface ListHostsResponse__Output {
  'hosts': (_berth_v1_Host__Output)[];
  'now_ms': (number);
  'failover': (_berth_v1_FailoverState__Output | null);
  'environment': (string);
  'store_unreachable': (string);
}
