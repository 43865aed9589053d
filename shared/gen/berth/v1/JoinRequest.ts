// Original file: proto/berth/v1/agent.proto

import type { HostFacts as _berth_v1_HostFacts, HostFacts__Output as _berth_v1_HostFacts__Output } from '../../berth/v1/HostFacts.js';

export interface JoinRequest {
  'token'?: (string);
  'csr_pem'?: (string);
  'facts'?: (_berth_v1_HostFacts | null);
  'labels'?: ({[key: string]: string});
  'advertise_addr'?: (string);
  'host_id'?: (string);
}

export interface JoinRequest__Output {
  'token': (string);
  'csr_pem': (string);
  'facts': (_berth_v1_HostFacts__Output | null);
  'labels': ({[key: string]: string});
  'advertise_addr': (string);
  'host_id': (string);
}
