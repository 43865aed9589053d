// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface LogAck {
  'request_id'?: (number | string | Long);
  'chars'?: (number | string | Long);
}

export interface LogAck__Output {
  'request_id': (number);
  'chars': (number);
}
