// Original file: proto/berth/v1/operator.proto


export interface SetGitopsSuspendedRequest {
  'name'?: (string);
  'suspended'?: (boolean);
}

export interface SetGitopsSuspendedRequest__Output {
  'name': (string);
  'suspended': (boolean);
}
