// Original file: proto/berth/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface Filesystem {
  'mount'?: (string);
  'fs_type'?: (string);
  'size_bytes'?: (number | string | Long);
  'used_bytes'?: (number | string | Long);
}

export interface Filesystem__Output {
  'mount': (string);
  'fs_type': (string);
  'size_bytes': (number);
  'used_bytes': (number);
}
