// Original file: proto/berth/v1/operator.proto

import type { ExecStarted as _berth_v1_ExecStarted, ExecStarted__Output as _berth_v1_ExecStarted__Output } from '../../berth/v1/ExecStarted.js';
import type { ExecResult as _berth_v1_ExecResult, ExecResult__Output as _berth_v1_ExecResult__Output } from '../../berth/v1/ExecResult.js';

export interface ExecServerMessage {
  'started'?: (_berth_v1_ExecStarted | null);
  'stdout'?: (Buffer | Uint8Array | string);
  'stderr'?: (Buffer | Uint8Array | string);
  'exit'?: (_berth_v1_ExecResult | null);
  'msg'?: "started"|"stdout"|"stderr"|"exit";
}

export interface ExecServerMessage__Output {
  'started'?: (_berth_v1_ExecStarted__Output | null);
  'stdout'?: (Buffer);
  'stderr'?: (Buffer);
  'exit'?: (_berth_v1_ExecResult__Output | null);
  'msg'?: "started"|"stdout"|"stderr"|"exit";
}
