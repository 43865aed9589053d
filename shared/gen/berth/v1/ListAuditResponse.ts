// Original file: proto/berth/v1/operator.proto

import type { AuditEntry as _berth_v1_AuditEntry, AuditEntry__Output as _berth_v1_AuditEntry__Output } from '../../berth/v1/AuditEntry.js';

export interface ListAuditResponse {
  'entries'?: (_berth_v1_AuditEntry)[];
}

export interface ListAuditResponse__Output {
  'entries': (_berth_v1_AuditEntry__Output)[];
}
