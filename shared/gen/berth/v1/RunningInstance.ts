// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface RunningInstance {
  'service'?: (string);
  'instance'?: (string);
  'epoch'?: (number | string | Long);
}

export interface RunningInstance__Output {
  'service': (string);
  'instance': (string);
  'epoch': (number);
}
