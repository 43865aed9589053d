// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface ServiceSummary {
  'name'?: (string);
  'desired'?: (number);
  'healthy'?: (number);
  'revision'?: (number | string | Long);
  'artifact'?: (string);
  'unplaced'?: (string)[];
}

export interface ServiceSummary__Output {
  'name': (string);
  'desired': (number);
  'healthy': (number);
  'revision': (number);
  'artifact': (string);
  'unplaced': (string)[];
}
