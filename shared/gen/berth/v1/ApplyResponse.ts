// Original file: proto/berth/v1/operator.proto

import type { ServiceChange as _berth_v1_ServiceChange, ServiceChange__Output as _berth_v1_ServiceChange__Output } from '../../berth/v1/ServiceChange.js';
import type { Long } from '@grpc/proto-loader';

export interface ApplyResponse {
  'changes'?: (_berth_v1_ServiceChange)[];
  'state_index'?: (number | string | Long);
}

export interface ApplyResponse__Output {
  'changes': (_berth_v1_ServiceChange__Output)[];
  'state_index': (number);
}
