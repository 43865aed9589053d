// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface InstanceStatus {
  'service'?: (string);
  'instance'?: (string);
  'epoch'?: (number | string | Long);
  'revision'?: (number | string | Long);
  'state'?: (string);
  'detail'?: (string);
  'restarts'?: (number);
  'since_ms'?: (number | string | Long);
  'pid'?: (number);
  'resources_enforced'?: (boolean);
  'resources_note'?: (string);
  'install_tail'?: (string);
  'age_ms'?: (number | string | Long);
}

export interface InstanceStatus__Output {
  'service': (string);
  'instance': (string);
  'epoch': (number);
  'revision': (number);
  'state': (string);
  'detail': (string);
  'restarts': (number);
  'since_ms': (number);
  'pid': (number);
  'resources_enforced': (boolean);
  'resources_note': (string);
  'install_tail': (string);
  'age_ms': (number);
}
