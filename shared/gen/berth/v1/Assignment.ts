// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Assignment {
  'service'?: (string);
  'instance'?: (string);
  'epoch'?: (number | string | Long);
  'revision'?: (number | string | Long);
  'spec_json'?: (string);
}

export interface Assignment__Output {
  'service': (string);
  'instance': (string);
  'epoch': (number);
  'revision': (number);
  'spec_json': (string);
}
