// Original file: proto/berth/v1/operator.proto

import type { Endpoint as _berth_v1_Endpoint, Endpoint__Output as _berth_v1_Endpoint__Output } from '../../berth/v1/Endpoint.js';

export interface Endpoints {
  'service'?: (string);
  'endpoints'?: (_berth_v1_Endpoint)[];
}

export interface Endpoints__Output {
  'service': (string);
  'endpoints': (_berth_v1_Endpoint__Output)[];
}
