// Original file: proto/berth/v1/agent.proto

import type { Hello as _berth_v1_Hello, Hello__Output as _berth_v1_Hello__Output } from '../../berth/v1/Hello.js';
import type { Heartbeat as _berth_v1_Heartbeat, Heartbeat__Output as _berth_v1_Heartbeat__Output } from '../../berth/v1/Heartbeat.js';
import type { InstanceStatus as _berth_v1_InstanceStatus, InstanceStatus__Output as _berth_v1_InstanceStatus__Output } from '../../berth/v1/InstanceStatus.js';
import type { LogChunk as _berth_v1_LogChunk, LogChunk__Output as _berth_v1_LogChunk__Output } from '../../berth/v1/LogChunk.js';
import type { ExecOutput as _berth_v1_ExecOutput, ExecOutput__Output as _berth_v1_ExecOutput__Output } from '../../berth/v1/ExecOutput.js';
import type { ExecExit as _berth_v1_ExecExit, ExecExit__Output as _berth_v1_ExecExit__Output } from '../../berth/v1/ExecExit.js';
import type { RenewCertificate as _berth_v1_RenewCertificate, RenewCertificate__Output as _berth_v1_RenewCertificate__Output } from '../../berth/v1/RenewCertificate.js';
import type { CertificateStored as _berth_v1_CertificateStored, CertificateStored__Output as _berth_v1_CertificateStored__Output } from '../../berth/v1/CertificateStored.js';
import type { ReadReceipt as _berth_v1_ReadReceipt, ReadReceipt__Output as _berth_v1_ReadReceipt__Output } from '../../berth/v1/ReadReceipt.js';

export interface AgentMessage {
  'hello'?: (_berth_v1_Hello | null);
  'heartbeat'?: (_berth_v1_Heartbeat | null);
  'instance_status'?: (_berth_v1_InstanceStatus | null);
  'log_chunk'?: (_berth_v1_LogChunk | null);
  'exec_output'?: (_berth_v1_ExecOutput | null);
  'exec_exit'?: (_berth_v1_ExecExit | null);
  'renew_certificate'?: (_berth_v1_RenewCertificate | null);
  'certificate_stored'?: (_berth_v1_CertificateStored | null);
  'read_receipt'?: (_berth_v1_ReadReceipt | null);
  'msg'?: "hello"|"heartbeat"|"instance_status"|"log_chunk"|"exec_output"|"exec_exit"|"renew_certificate"|"certificate_stored"|"read_receipt";
}

export interface AgentMessage__Output {
  'hello'?: (_berth_v1_Hello__Output | null);
  'heartbeat'?: (_berth_v1_Heartbeat__Output | null);
  'instance_status'?: (_berth_v1_InstanceStatus__Output | null);
  'log_chunk'?: (_berth_v1_LogChunk__Output | null);
  'exec_output'?: (_berth_v1_ExecOutput__Output | null);
  'exec_exit'?: (_berth_v1_ExecExit__Output | null);
  'renew_certificate'?: (_berth_v1_RenewCertificate__Output | null);
  'certificate_stored'?: (_berth_v1_CertificateStored__Output | null);
  'read_receipt'?: (_berth_v1_ReadReceipt__Output | null);
  'msg'?: "hello"|"heartbeat"|"instance_status"|"log_chunk"|"exec_output"|"exec_exit"|"renew_certificate"|"certificate_stored"|"read_receipt";
}
