// Original file: proto/berth/v1/operator.proto

import type { SecretInfo as _berth_v1_SecretInfo, SecretInfo__Output as _berth_v1_SecretInfo__Output } from '../../berth/v1/SecretInfo.js';

export interface ListSecretsResponse {
  'secrets'?: (_berth_v1_SecretInfo)[];
}

export interface ListSecretsResponse__Output {
  'secrets': (_berth_v1_SecretInfo__Output)[];
}
