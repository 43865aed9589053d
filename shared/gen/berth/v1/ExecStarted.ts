// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecStarted {
  'session_id'?: (number | string | Long);
  'host'?: (string);
  'instance'?: (string);
}

export interface ExecStarted__Output {
  'session_id': (number);
  'host': (string);
  'instance': (string);
}
