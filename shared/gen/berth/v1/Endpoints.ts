// Original file: proto/berth/v1/operator.proto

import type { Endpoint as _berth_v1_Endpoint, Endpoint__Output as _berth_v1_Endpoint__Output } from '../../berth/v1/Endpoint.js';
import type { LbApplied as _berth_v1_LbApplied, LbApplied__Output as _berth_v1_LbApplied__Output } from '../../berth/v1/LbApplied.js';
import type { Long } from '@grpc/proto-loader';

export interface Endpoints {
  'service'?: (string);
  'endpoints'?: (_berth_v1_Endpoint)[];
  'version'?: (string);
  'lbs'?: (_berth_v1_LbApplied)[];
  'drain_time_ms'?: (number | string | Long);
}

export interface Endpoints__Output {
  'service': (string);
  'endpoints': (_berth_v1_Endpoint__Output)[];
  'version': (string);
  'lbs': (_berth_v1_LbApplied__Output)[];
  'drain_time_ms': (number);
}
