// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchEventsRequest {
  'after_seq'?: (number | string | Long);
  'host'?: (string);
  'service'?: (string);
}

export interface WatchEventsRequest__Output {
  'after_seq': (number);
  'host': (string);
  'service': (string);
}
