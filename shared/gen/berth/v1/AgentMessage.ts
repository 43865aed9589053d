// Original file: proto/berth/v1/agent.proto

import type { Hello as _berth_v1_Hello, Hello__Output as _berth_v1_Hello__Output } from '../../berth/v1/Hello.js';
import type { Heartbeat as _berth_v1_Heartbeat, Heartbeat__Output as _berth_v1_Heartbeat__Output } from '../../berth/v1/Heartbeat.js';

export interface AgentMessage {
  'hello'?: (_berth_v1_Hello | null);
  'heartbeat'?: (_berth_v1_Heartbeat | null);
  'msg'?: "hello"|"heartbeat";
}

export interface AgentMessage__Output {
  'hello'?: (_berth_v1_Hello__Output | null);
  'heartbeat'?: (_berth_v1_Heartbeat__Output | null);
  'msg'?: "hello"|"heartbeat";
}
