// Original file: proto/berth/v1/operator.proto


export interface ListHostsRequest {
}

export interface ListHostsRequest__Output {
}
