// Original file: proto/berth/v1/operator.proto


export interface ListControllersRequest {
}

export interface ListControllersRequest__Output {
}
