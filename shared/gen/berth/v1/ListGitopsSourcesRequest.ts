// Original file: proto/berth/v1/operator.proto


export interface ListGitopsSourcesRequest {
}

export interface ListGitopsSourcesRequest__Output {
}
