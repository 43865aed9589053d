// Original file: proto/berth/v1/agent.proto


export interface CertificateIssued {
  'certificate_pem'?: (string);
  'ca_pem'?: (string);
  'error'?: (string);
}

export interface CertificateIssued__Output {
  'certificate_pem': (string);
  'ca_pem': (string);
  'error': (string);
}
