// Original file: proto/berth/v1/agent.proto

import type { Usage as _berth_v1_Usage, Usage__Output as _berth_v1_Usage__Output } from '../../berth/v1/Usage.js';
import type { Long } from '@grpc/proto-loader';

export interface Heartbeat {
  'seq'?: (number | string | Long);
  'sent_at_ms'?: (number | string | Long);
  'usage'?: (_berth_v1_Usage | null);
}

export interface Heartbeat__Output {
  'seq': (number);
  'sent_at_ms': (number);
  'usage': (_berth_v1_Usage__Output | null);
}
