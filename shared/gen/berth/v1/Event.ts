// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface Event {
  'seq'?: (number | string | Long);
  'time_ms'?: (number | string | Long);
  'type'?: (string);
  'host'?: (string);
  'service'?: (string);
  'message'?: (string);
  'actor'?: (string);
}

export interface Event__Output {
  'seq': (number);
  'time_ms': (number);
  'type': (string);
  'host': (string);
  'service': (string);
  'message': (string);
  'actor': (string);
}
