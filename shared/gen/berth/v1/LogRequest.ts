// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface LogRequest {
  'request_id'?: (number | string | Long);
  'instance'?: (string);
  'install'?: (boolean);
  'tail'?: (number);
  'follow'?: (boolean);
  'window'?: (number);
  'departed_service'?: (string);
}

export interface LogRequest__Output {
  'request_id': (number);
  'instance': (string);
  'install': (boolean);
  'tail': (number);
  'follow': (boolean);
  'window': (number);
  'departed_service': (string);
}
