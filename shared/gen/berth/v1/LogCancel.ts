// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface LogCancel {
  'request_id'?: (number | string | Long);
}

export interface LogCancel__Output {
  'request_id': (number);
}
