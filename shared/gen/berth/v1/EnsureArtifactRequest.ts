// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface EnsureArtifactRequest {
  'sha256'?: (string);
  'size'?: (number | string | Long);
  'from'?: (string);
}

export interface EnsureArtifactRequest__Output {
  'sha256': (string);
  'size': (number);
  'from': (string);
}
