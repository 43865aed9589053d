// Original file: proto/berth/v1/operator.proto


export interface ResumeFailoverRequest {
}

export interface ResumeFailoverRequest__Output {
}
