// Original file: proto/berth/v1/operator.proto

import type { ServiceSummary as _berth_v1_ServiceSummary, ServiceSummary__Output as _berth_v1_ServiceSummary__Output } from '../../berth/v1/ServiceSummary.js';
import type { Long } from '@grpc/proto-loader';

export interface ListServicesResponse {
  'services'?: (_berth_v1_ServiceSummary)[];
  'now_ms'?: (number | string | Long);
  'environment'?: (string);
}

export interface ListServicesResponse__Output {
  'services': (_berth_v1_ServiceSummary__Output)[];
  'now_ms': (number);
  'environment': (string);
}
