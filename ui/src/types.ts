/**
 * What the console's API returns. The operator API's messages reach the page
 * through their protobuf codec (controller/ui/bridge.ts), so their shapes are
 * the `__Output` types generated from proto/ (every field present, int64 as
 * numbers): named here, never restated. Only what the console server adds
 * (usage history, a spec as YAML, the session) is written out.
 */
import type { AuditEntry__Output } from "../../shared/gen/berth/v1/AuditEntry.js";
import type { Endpoint__Output } from "../../shared/gen/berth/v1/Endpoint.js";
import type { Endpoints__Output } from "../../shared/gen/berth/v1/Endpoints.js";
import type { Event__Output } from "../../shared/gen/berth/v1/Event.js";
import type { FailoverState__Output } from "../../shared/gen/berth/v1/FailoverState.js";
import type { Host__Output } from "../../shared/gen/berth/v1/Host.js";
import type { InstanceView__Output } from "../../shared/gen/berth/v1/InstanceView.js";
import type { ListControllersResponse__Output } from "../../shared/gen/berth/v1/ListControllersResponse.js";
import type { LbApplied__Output } from "../../shared/gen/berth/v1/LbApplied.js";
import type { ListServicesResponse__Output } from "../../shared/gen/berth/v1/ListServicesResponse.js";
import type { RolloutSlot__Output } from "../../shared/gen/berth/v1/RolloutSlot.js";
import type { RolloutView__Output } from "../../shared/gen/berth/v1/RolloutView.js";
import type { ServiceRevision__Output } from "../../shared/gen/berth/v1/ServiceRevision.js";
import type { ServiceStatus__Output } from "../../shared/gen/berth/v1/ServiceStatus.js";
import type { ServiceSummary__Output } from "../../shared/gen/berth/v1/ServiceSummary.js";
import type { Usage__Output } from "../../shared/gen/berth/v1/Usage.js";

export type Usage = Usage__Output;
/** One sample of a host's usage the console server keeps for sparklines. */
export interface UsageSample {
  atMs: number;
  cpu: number;
  mem: number;
  disk: number;
}
export type Host = Host__Output & { usage_history?: UsageSample[] };
export type Failover = FailoverState__Output;
/** ListHosts, each host with its usage history. */
export interface HostsResponse {
  hosts: Host[];
  now_ms: number;
  failover: Failover | null;
  environment: string;
}
export type ServiceSummary = ServiceSummary__Output;
/**
 * ListControllers as `berth controllers` shows it: each member's row with its own word
 * on the store (asked of that member), and the warnings the CLI prints above its table.
 */
export type ControllersResponse = ListControllersResponse__Output & { warnings: string[] };
export type ControllerMember = ControllersResponse["members"][number];
export type ServicesResponse = ListServicesResponse__Output;
export type Instance = InstanceView__Output;
export type ServiceStatus = ServiceStatus__Output;
export type RolloutSlot = RolloutSlot__Output;
export type Rollout = RolloutView__Output;
export type BerthEvent = Event__Output;
export type AuditEntry = AuditEntry__Output;
export type Endpoint = Endpoint__Output;
export type LbApplied = LbApplied__Output;
/** One message of the endpoints watch (WatchEndpoints): the list in service, and each load balancer's applied state. */
export type Endpoints = Endpoints__Output;
/** A revision the controller keeps (GetServiceHistory), its spec as YAML instead of JSON. */
export type ServiceRevision = Omit<ServiceRevision__Output, "spec_json"> & { spec_yaml: string };
export interface Session {
  token_id: string;
  role: "viewer" | "operator" | "admin";
  csrf: string;
  /** The environment the controller serves (`berth controller --environment`); "" any. */
  environment: string;
  /** The token this console session was signed in with (the session's own id is token_id). */
  signed_in_with?: string;
  /** Set when the cookie holds the token signed in with rather than a session of its own: signing out cannot end it. */
  warning?: string;
}
