// Original file: proto/berth/v1/operator.proto


export interface GetCaStatusRequest {
}

export interface GetCaStatusRequest__Output {
}
