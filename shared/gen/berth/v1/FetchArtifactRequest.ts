// Original file: proto/berth/v1/agent.proto


export interface FetchArtifactRequest {
  'sha256'?: (string);
}

export interface FetchArtifactRequest__Output {
  'sha256': (string);
}
