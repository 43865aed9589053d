// Original file: proto/berth/v1/agent.proto


export interface CertificateStored {
  'serial'?: (string);
}

export interface CertificateStored__Output {
  'serial': (string);
}
