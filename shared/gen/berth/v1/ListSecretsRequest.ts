// Original file: proto/berth/v1/operator.proto


export interface ListSecretsRequest {
}

export interface ListSecretsRequest__Output {
}
