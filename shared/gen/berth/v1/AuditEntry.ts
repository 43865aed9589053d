// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface AuditEntry {
  'seq'?: (number | string | Long);
  'time_ms'?: (number | string | Long);
  'token_id'?: (string);
  'role'?: (string);
  'method'?: (string);
  'request'?: (string);
  'code'?: (number);
  'error'?: (string);
  'peer'?: (string);
  'count'?: (number);
  'last_ms'?: (number | string | Long);
}

export interface AuditEntry__Output {
  'seq': (number);
  'time_ms': (number);
  'token_id': (string);
  'role': (string);
  'method': (string);
  'request': (string);
  'code': (number);
  'error': (string);
  'peer': (string);
  'count': (number);
  'last_ms': (number);
}
