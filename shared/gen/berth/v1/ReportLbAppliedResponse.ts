// Original file: proto/berth/v1/operator.proto


export interface ReportLbAppliedResponse {
}

export interface ReportLbAppliedResponse__Output {
}
