// Original file: proto/berth/v1/operator.proto


export interface SpecFile {
  'file'?: (string);
  'content'?: (string);
  'artifact_sha256'?: (string);
}

export interface SpecFile__Output {
  'file': (string);
  'content': (string);
  'artifact_sha256': (string);
}
