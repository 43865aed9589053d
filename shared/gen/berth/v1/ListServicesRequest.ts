// Original file: proto/berth/v1/operator.proto


export interface ListServicesRequest {
}

export interface ListServicesRequest__Output {
}
