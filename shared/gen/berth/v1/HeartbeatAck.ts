// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatAck {
  'seq'?: (number | string | Long);
  'sent_at_ms'?: (number | string | Long);
}

export interface HeartbeatAck__Output {
  'seq': (number);
  'sent_at_ms': (number);
}
