// Original file: proto/berth/v1/agent.proto


export interface JoinResponse {
  'host_id'?: (string);
  'certificate_pem'?: (string);
  'ca_pem'?: (string);
}

export interface JoinResponse__Output {
  'host_id': (string);
  'certificate_pem': (string);
  'ca_pem': (string);
}
