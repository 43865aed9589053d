// Original file: proto/berth/v1/operator.proto


export interface HasArtifactRequest {
  'sha256'?: (string);
}

export interface HasArtifactRequest__Output {
  'sha256': (string);
}
