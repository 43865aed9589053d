// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface GitopsSource {
  'name'?: (string);
  'repo'?: (string);
  'branch'?: (string);
  'path'?: (string);
  'env'?: (string);
  'interval_ms'?: (number | string | Long);
  'prune'?: (boolean);
  'self_heal'?: (boolean);
  'auth_kind'?: (string);
  'username'?: (string);
  'auth_secret'?: (string);
  'webhook_secret'?: (string);
  'known_hosts'?: (string);
  'ca_pem'?: (string);
}

export interface GitopsSource__Output {
  'name': (string);
  'repo': (string);
  'branch': (string);
  'path': (string);
  'env': (string);
  'interval_ms': (number);
  'prune': (boolean);
  'self_heal': (boolean);
  'auth_kind': (string);
  'username': (string);
  'auth_secret': (string);
  'webhook_secret': (string);
  'known_hosts': (string);
  'ca_pem': (string);
}
