// Original file: proto/berth/v1/agent.proto

import type { SecretValue as _berth_v1_SecretValue, SecretValue__Output as _berth_v1_SecretValue__Output } from '../../berth/v1/SecretValue.js';
import type { Long } from '@grpc/proto-loader';

export interface Assignment {
  'service'?: (string);
  'instance'?: (string);
  'epoch'?: (number | string | Long);
  'revision'?: (number | string | Long);
  'spec_json'?: (string);
  'secrets'?: (_berth_v1_SecretValue)[];
}

export interface Assignment__Output {
  'service': (string);
  'instance': (string);
  'epoch': (number);
  'revision': (number);
  'spec_json': (string);
  'secrets': (_berth_v1_SecretValue__Output)[];
}
