// Original file: proto/berth/v1/operator.proto

import type { ServiceRevision as _berth_v1_ServiceRevision, ServiceRevision__Output as _berth_v1_ServiceRevision__Output } from '../../berth/v1/ServiceRevision.js';
import type { Long } from '@grpc/proto-loader';

export interface ServiceHistory {
  'service'?: (string);
  'current_revision'?: (number | string | Long);
  'revisions'?: (_berth_v1_ServiceRevision)[];
}

export interface ServiceHistory__Output {
  'service': (string);
  'current_revision': (number);
  'revisions': (_berth_v1_ServiceRevision__Output)[];
}
