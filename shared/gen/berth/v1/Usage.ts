// Original file: proto/berth/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface Usage {
  'load1'?: (number | string);
  'load5'?: (number | string);
  'load15'?: (number | string);
  'cpu_percent'?: (number | string);
  'memory_used_bytes'?: (number | string | Long);
  'memory_total_bytes'?: (number | string | Long);
  'disk_used_bytes'?: (number | string | Long);
  'disk_total_bytes'?: (number | string | Long);
}

export interface Usage__Output {
  'load1': (number);
  'load5': (number);
  'load15': (number);
  'cpu_percent': (number);
  'memory_used_bytes': (number);
  'memory_total_bytes': (number);
  'disk_used_bytes': (number);
  'disk_total_bytes': (number);
}
