// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ArtifactChunk {
  'sha256'?: (string);
  'size'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
}

export interface ArtifactChunk__Output {
  'sha256': (string);
  'size': (number);
  'data': (Buffer);
}
