// Original file: proto/berth/v1/operator.proto


export interface SetSecretRequest {
  'name'?: (string);
  'value'?: (Buffer | Uint8Array | string);
}

export interface SetSecretRequest__Output {
  'name': (string);
  'value': (Buffer);
}
