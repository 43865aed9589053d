// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface ServiceRevision {
  'revision'?: (number | string | Long);
  'current'?: (boolean);
  'previous_revision'?: (number | string | Long);
  'environment'?: (string);
  'spec_json'?: (string);
  'changed'?: (string)[];
  'changed_known'?: (boolean);
}

export interface ServiceRevision__Output {
  'revision': (number);
  'current': (boolean);
  'previous_revision': (number);
  'environment': (string);
  'spec_json': (string);
  'changed': (string)[];
  'changed_known': (boolean);
}
