// Original file: proto/berth/v1/agent.proto

import type { Welcome as _berth_v1_Welcome, Welcome__Output as _berth_v1_Welcome__Output } from '../../berth/v1/Welcome.js';
import type { HeartbeatAck as _berth_v1_HeartbeatAck, HeartbeatAck__Output as _berth_v1_HeartbeatAck__Output } from '../../berth/v1/HeartbeatAck.js';
import type { Assignment as _berth_v1_Assignment, Assignment__Output as _berth_v1_Assignment__Output } from '../../berth/v1/Assignment.js';
import type { LogRequest as _berth_v1_LogRequest, LogRequest__Output as _berth_v1_LogRequest__Output } from '../../berth/v1/LogRequest.js';
import type { LogCancel as _berth_v1_LogCancel, LogCancel__Output as _berth_v1_LogCancel__Output } from '../../berth/v1/LogCancel.js';

export interface ControllerMessage {
  'welcome'?: (_berth_v1_Welcome | null);
  'heartbeat_ack'?: (_berth_v1_HeartbeatAck | null);
  'assignment'?: (_berth_v1_Assignment | null);
  'log_request'?: (_berth_v1_LogRequest | null);
  'log_cancel'?: (_berth_v1_LogCancel | null);
  'msg'?: "welcome"|"heartbeat_ack"|"assignment"|"log_request"|"log_cancel";
}

export interface ControllerMessage__Output {
  'welcome'?: (_berth_v1_Welcome__Output | null);
  'heartbeat_ack'?: (_berth_v1_HeartbeatAck__Output | null);
  'assignment'?: (_berth_v1_Assignment__Output | null);
  'log_request'?: (_berth_v1_LogRequest__Output | null);
  'log_cancel'?: (_berth_v1_LogCancel__Output | null);
  'msg'?: "welcome"|"heartbeat_ack"|"assignment"|"log_request"|"log_cancel";
}
