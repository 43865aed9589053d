// Original file: proto/berth/v1/operator.proto


export interface ExecStdinEof {
}

export interface ExecStdinEof__Output {
}
