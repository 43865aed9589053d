// Original file: proto/berth/v1/agent.proto

import type { Welcome as _berth_v1_Welcome, Welcome__Output as _berth_v1_Welcome__Output } from '../../berth/v1/Welcome.js';
import type { HeartbeatAck as _berth_v1_HeartbeatAck, HeartbeatAck__Output as _berth_v1_HeartbeatAck__Output } from '../../berth/v1/HeartbeatAck.js';
import type { Assignment as _berth_v1_Assignment, Assignment__Output as _berth_v1_Assignment__Output } from '../../berth/v1/Assignment.js';
import type { LogRequest as _berth_v1_LogRequest, LogRequest__Output as _berth_v1_LogRequest__Output } from '../../berth/v1/LogRequest.js';
import type { LogCancel as _berth_v1_LogCancel, LogCancel__Output as _berth_v1_LogCancel__Output } from '../../berth/v1/LogCancel.js';
import type { ExecStart as _berth_v1_ExecStart, ExecStart__Output as _berth_v1_ExecStart__Output } from '../../berth/v1/ExecStart.js';
import type { ExecInput as _berth_v1_ExecInput, ExecInput__Output as _berth_v1_ExecInput__Output } from '../../berth/v1/ExecInput.js';
import type { ExecResize as _berth_v1_ExecResize, ExecResize__Output as _berth_v1_ExecResize__Output } from '../../berth/v1/ExecResize.js';
import type { ExecClose as _berth_v1_ExecClose, ExecClose__Output as _berth_v1_ExecClose__Output } from '../../berth/v1/ExecClose.js';
import type { LogAck as _berth_v1_LogAck, LogAck__Output as _berth_v1_LogAck__Output } from '../../berth/v1/LogAck.js';
import type { MoveOn as _berth_v1_MoveOn, MoveOn__Output as _berth_v1_MoveOn__Output } from '../../berth/v1/MoveOn.js';
import type { CertificateIssued as _berth_v1_CertificateIssued, CertificateIssued__Output as _berth_v1_CertificateIssued__Output } from '../../berth/v1/CertificateIssued.js';
import type { HostRemoved as _berth_v1_HostRemoved, HostRemoved__Output as _berth_v1_HostRemoved__Output } from '../../berth/v1/HostRemoved.js';
import type { TrustBundle as _berth_v1_TrustBundle, TrustBundle__Output as _berth_v1_TrustBundle__Output } from '../../berth/v1/TrustBundle.js';
import type { ReadReceipt as _berth_v1_ReadReceipt, ReadReceipt__Output as _berth_v1_ReadReceipt__Output } from '../../berth/v1/ReadReceipt.js';

export interface ControllerMessage {
  'welcome'?: (_berth_v1_Welcome | null);
  'heartbeat_ack'?: (_berth_v1_HeartbeatAck | null);
  'assignment'?: (_berth_v1_Assignment | null);
  'log_request'?: (_berth_v1_LogRequest | null);
  'log_cancel'?: (_berth_v1_LogCancel | null);
  'exec_start'?: (_berth_v1_ExecStart | null);
  'exec_input'?: (_berth_v1_ExecInput | null);
  'exec_resize'?: (_berth_v1_ExecResize | null);
  'exec_close'?: (_berth_v1_ExecClose | null);
  'log_ack'?: (_berth_v1_LogAck | null);
  'move_on'?: (_berth_v1_MoveOn | null);
  'certificate_issued'?: (_berth_v1_CertificateIssued | null);
  'host_removed'?: (_berth_v1_HostRemoved | null);
  'trust_bundle'?: (_berth_v1_TrustBundle | null);
  'read_receipt'?: (_berth_v1_ReadReceipt | null);
  'msg'?: "welcome"|"heartbeat_ack"|"assignment"|"log_request"|"log_cancel"|"exec_start"|"exec_input"|"exec_resize"|"exec_close"|"log_ack"|"move_on"|"certificate_issued"|"host_removed"|"trust_bundle"|"read_receipt";
}

export interface ControllerMessage__Output {
  'welcome'?: (_berth_v1_Welcome__Output | null);
  'heartbeat_ack'?: (_berth_v1_HeartbeatAck__Output | null);
  'assignment'?: (_berth_v1_Assignment__Output | null);
  'log_request'?: (_berth_v1_LogRequest__Output | null);
  'log_cancel'?: (_berth_v1_LogCancel__Output | null);
  'exec_start'?: (_berth_v1_ExecStart__Output | null);
  'exec_input'?: (_berth_v1_ExecInput__Output | null);
  'exec_resize'?: (_berth_v1_ExecResize__Output | null);
  'exec_close'?: (_berth_v1_ExecClose__Output | null);
  'log_ack'?: (_berth_v1_LogAck__Output | null);
  'move_on'?: (_berth_v1_MoveOn__Output | null);
  'certificate_issued'?: (_berth_v1_CertificateIssued__Output | null);
  'host_removed'?: (_berth_v1_HostRemoved__Output | null);
  'trust_bundle'?: (_berth_v1_TrustBundle__Output | null);
  'read_receipt'?: (_berth_v1_ReadReceipt__Output | null);
  'msg'?: "welcome"|"heartbeat_ack"|"assignment"|"log_request"|"log_cancel"|"exec_start"|"exec_input"|"exec_resize"|"exec_close"|"log_ack"|"move_on"|"certificate_issued"|"host_removed"|"trust_bundle"|"read_receipt";
}
