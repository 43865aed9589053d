// Original file: proto/berth/v1/operator.proto


export interface ListTokensRequest {
}

export interface ListTokensRequest__Output {
}
