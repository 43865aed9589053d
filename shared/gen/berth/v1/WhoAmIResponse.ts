// Original file: proto/berth/v1/operator.proto


export interface WhoAmIResponse {
  'token_id'?: (string);
  'role'?: (string);
}

export interface WhoAmIResponse__Output {
  'token_id': (string);
  'role': (string);
}
