// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface EtcdEndpoint {
  'endpoint'?: (string);
  'healthy'?: (boolean);
  'error'?: (string);
  'version'?: (string);
  'is_leader'?: (boolean);
  'db_size_bytes'?: (number | string | Long);
  'has_leader'?: (boolean);
}

export interface EtcdEndpoint__Output {
  'endpoint': (string);
  'healthy': (boolean);
  'error': (string);
  'version': (string);
  'is_leader': (boolean);
  'db_size_bytes': (number);
  'has_leader': (boolean);
}
