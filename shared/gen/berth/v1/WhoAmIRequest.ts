// Original file: proto/berth/v1/operator.proto


export interface WhoAmIRequest {
}

export interface WhoAmIRequest__Output {
}
