// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface SecretValue {
  'name'?: (string);
  'version'?: (number | string | Long);
  'value'?: (Buffer | Uint8Array | string);
}

export interface SecretValue__Output {
  'name': (string);
  'version': (number);
  'value': (Buffer);
}
