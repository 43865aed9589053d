// Original file: proto/berth/v1/operator.proto

import type { HostFacts as _berth_v1_HostFacts, HostFacts__Output as _berth_v1_HostFacts__Output } from '../../berth/v1/HostFacts.js';
import type { Usage as _berth_v1_Usage, Usage__Output as _berth_v1_Usage__Output } from '../../berth/v1/Usage.js';
import type { Long } from '@grpc/proto-loader';

export interface Host {
  'id'?: (string);
  'status'?: (string);
  'cordoned'?: (boolean);
  'address'?: (string);
  'labels'?: ({[key: string]: string});
  'facts'?: (_berth_v1_HostFacts | null);
  'usage'?: (_berth_v1_Usage | null);
  'last_heartbeat_ms'?: (number | string | Long);
  'joined_at_ms'?: (number | string | Long);
  'service'?: (string);
  'connected'?: (boolean);
  'status_since_ms'?: (number | string | Long);
  'member'?: (string);
  'cert_expires_ms'?: (number | string | Long);
  'cert_serial'?: (string);
  'connected_cert_serial'?: (string);
  'cert_unconfirmed'?: (boolean);
  'may_still_run'?: (string)[];
}

export interface Host__Output {
  'id': (string);
  'status': (string);
  'cordoned': (boolean);
  'address': (string);
  'labels': ({[key: string]: string});
  'facts': (_berth_v1_HostFacts__Output | null);
  'usage': (_berth_v1_Usage__Output | null);
  'last_heartbeat_ms': (number);
  'joined_at_ms': (number);
  'service': (string);
  'connected': (boolean);
  'status_since_ms': (number);
  'member': (string);
  'cert_expires_ms': (number);
  'cert_serial': (string);
  'connected_cert_serial': (string);
  'cert_unconfirmed': (boolean);
  'may_still_run': (string)[];
}
