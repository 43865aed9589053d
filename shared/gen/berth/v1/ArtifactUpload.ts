// Original file: proto/berth/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface ArtifactUpload {
  'sha256'?: (string);
  'size'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
}

export interface ArtifactUpload__Output {
  'sha256': (string);
  'size': (number);
  'data': (Buffer);
}
