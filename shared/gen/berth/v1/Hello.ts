// Original file: proto/berth/v1/agent.proto

import type { HostFacts as _berth_v1_HostFacts, HostFacts__Output as _berth_v1_HostFacts__Output } from '../../berth/v1/HostFacts.js';
import type { RunningInstance as _berth_v1_RunningInstance, RunningInstance__Output as _berth_v1_RunningInstance__Output } from '../../berth/v1/RunningInstance.js';

export interface Hello {
  'host_id'?: (string);
  'facts'?: (_berth_v1_HostFacts | null);
  'labels'?: ({[key: string]: string});
  'advertise_addr'?: (string);
  'running'?: (_berth_v1_RunningInstance)[];
  'artifacts'?: (string)[];
}

export interface Hello__Output {
  'host_id': (string);
  'facts': (_berth_v1_HostFacts__Output | null);
  'labels': ({[key: string]: string});
  'advertise_addr': (string);
  'running': (_berth_v1_RunningInstance__Output)[];
  'artifacts': (string)[];
}
