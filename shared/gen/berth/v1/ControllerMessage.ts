// Original file: proto/berth/v1/agent.proto

import type { Welcome as _berth_v1_Welcome, Welcome__Output as _berth_v1_Welcome__Output } from '../../berth/v1/Welcome.js';
import type { HeartbeatAck as _berth_v1_HeartbeatAck, HeartbeatAck__Output as _berth_v1_HeartbeatAck__Output } from '../../berth/v1/HeartbeatAck.js';
import type { Assignment as _berth_v1_Assignment, Assignment__Output as _berth_v1_Assignment__Output } from '../../berth/v1/Assignment.js';

export interface ControllerMessage {
  'welcome'?: (_berth_v1_Welcome | null);
  'heartbeat_ack'?: (_berth_v1_HeartbeatAck | null);
  'assignment'?: (_berth_v1_Assignment | null);
  'msg'?: "welcome"|"heartbeat_ack"|"assignment";
}

export interface ControllerMessage__Output {
  'welcome'?: (_berth_v1_Welcome__Output | null);
  'heartbeat_ack'?: (_berth_v1_HeartbeatAck__Output | null);
  'assignment'?: (_berth_v1_Assignment__Output | null);
  'msg'?: "welcome"|"heartbeat_ack"|"assignment";
}
