// Original file: proto/berth/v1/operator.proto

import type { ExecRequest as _berth_v1_ExecRequest, ExecRequest__Output as _berth_v1_ExecRequest__Output } from '../../berth/v1/ExecRequest.js';
import type { TerminalSize as _berth_v1_TerminalSize, TerminalSize__Output as _berth_v1_TerminalSize__Output } from '../../berth/v1/TerminalSize.js';
import type { ExecStdinEof as _berth_v1_ExecStdinEof, ExecStdinEof__Output as _berth_v1_ExecStdinEof__Output } from '../../berth/v1/ExecStdinEof.js';

export interface ExecClientMessage {
  'start'?: (_berth_v1_ExecRequest | null);
  'stdin'?: (Buffer | Uint8Array | string);
  'resize'?: (_berth_v1_TerminalSize | null);
  'stdin_eof'?: (_berth_v1_ExecStdinEof | null);
  'msg'?: "start"|"stdin"|"resize"|"stdin_eof";
}

export interface ExecClientMessage__Output {
  'start'?: (_berth_v1_ExecRequest__Output | null);
  'stdin'?: (Buffer);
  'resize'?: (_berth_v1_TerminalSize__Output | null);
  'stdin_eof'?: (_berth_v1_ExecStdinEof__Output | null);
  'msg'?: "start"|"stdin"|"resize"|"stdin_eof";
}
