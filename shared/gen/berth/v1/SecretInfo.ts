// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface SecretInfo {
  'name'?: (string);
  'version'?: (number | string | Long);
  'updated_at_ms'?: (number | string | Long);
  'updated_by'?: (string);
  'used_by'?: (string)[];
  'rolled'?: (string)[];
}

export interface SecretInfo__Output {
  'name': (string);
  'version': (number);
  'updated_at_ms': (number);
  'updated_by': (string);
  'used_by': (string)[];
  'rolled': (string)[];
}
