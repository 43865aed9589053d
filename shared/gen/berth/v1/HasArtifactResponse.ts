// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface HasArtifactResponse {
  'present'?: (boolean);
  'size'?: (number | string | Long);
}

export interface HasArtifactResponse__Output {
  'present': (boolean);
  'size': (number);
}
