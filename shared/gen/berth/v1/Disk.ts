// Original file: proto/berth/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface Disk {
  'name'?: (string);
  'type'?: (string);
  'size_bytes'?: (number | string | Long);
  'model'?: (string);
  'removable'?: (boolean);
}

export interface Disk__Output {
  'name': (string);
  'type': (string);
  'size_bytes': (number);
  'model': (string);
  'removable': (boolean);
}
