/** What the controller's API returns (the operator API's messages, as JSON). */
export interface Usage {
  load1: number;
  cpu_percent: number;
  memory_used_bytes: number;
  memory_total_bytes: number;
  disk_used_bytes: number;
  disk_total_bytes: number;
}
export interface UsageSample {
  atMs: number;
  cpu: number;
  mem: number;
  disk: number;
}
export interface Host {
  id: string;
  status: string;
  cordoned: boolean;
  address: string;
  labels: Record<string, string>;
  facts: Record<string, unknown> | null;
  usage: Usage | null;
  last_heartbeat_ms: number;
  joined_at_ms: number;
  service: string;
  connected: boolean;
  status_since_ms: number;
  /** The controller group member holding its stream; "" when none does. */
  member: string;
  /** notAfter of its current certificate; 0: unknown. */
  cert_expires_ms: number;
  cert_serial: string;
  connected_cert_serial: string;
  usage_history?: UsageSample[];
}
export interface Failover {
  paused: boolean;
  reason: string;
  since_ms: number;
}
export interface HostsResponse {
  hosts: Host[];
  now_ms: number;
  failover: Failover | null;
  environment: string;
}
export interface ServiceSummary {
  name: string;
  desired: number;
  healthy: number;
  revision: number;
  artifact: string;
  unplaced: string[];
  reconcile_error: { message: string } | null;
}
export interface ServicesResponse {
  services: ServiceSummary[];
  now_ms: number;
  environment: string;
}
export interface Instance {
  instance: string;
  slot: number;
  host: string;
  host_address: string;
  state: string;
  detail: string;
  epoch: number;
  revision: number;
  restarts: number;
  since_ms: number;
  pinned_host: string;
  reason: string;
  install_tail: string;
  moving_to: string;
  pid: number;
}
export interface ServiceStatus {
  name: string;
  revision: number;
  spec_json: string;
  instances: Instance[];
  now_ms: number;
  reconcile_error: { message: string } | null;
}
export interface RolloutSlot {
  slot: number;
  instance: string;
  host: string;
  revision: number;
  phase: string;
  done: boolean;
  in_batch: boolean;
  surge_host: string;
  surge_phase: string;
}
export interface Rollout {
  service: string;
  exists: boolean;
  from_revision: number;
  to_revision: number;
  status: string;
  reason: string;
  started_at_ms: number;
  done: number;
  total: number;
  promoted: boolean;
  auto_reverted: boolean;
  canary: number;
  slots: RolloutSlot[];
  current_revision: number;
  ended_at_ms: number;
}
export interface BerthEvent {
  seq: number;
  time_ms: number;
  type: string;
  host: string;
  service: string;
  message: string;
  actor: string;
}
export interface AuditEntry {
  seq: number;
  time_ms: number;
  token_id: string;
  role: string;
  method: string;
  request: string;
  code: number;
  error: string;
  peer: string;
  count: number;
}
export interface Session {
  token_id: string;
  role: "viewer" | "operator" | "admin";
  csrf: string;
  /** The environment the controller serves (`berth controller --environment`); "" any. */
  environment: string;
}
export interface Endpoint {
  instance: string;
  host: string;
  address: string;
  port: number;
  epoch: number;
  revision: number;
}
export interface LbApplied {
  lb: string;
  kind: string;
  version: string;
  applied_at_ms: number;
  servers: number;
  error: string;
  reported_at_ms: number;
}
/** One message of the endpoints watch (WatchEndpoints): the list in service, and each load balancer's applied state. */
export interface Endpoints {
  service: string;
  endpoints: Endpoint[];
  version: string;
  lbs: LbApplied[];
  drain_time_ms: number;
}
/** A revision the controller keeps (GetServiceHistory), its spec as YAML. */
export interface ServiceRevision {
  revision: number;
  current: boolean;
  previous_revision: number;
  environment: string;
  spec_yaml: string;
  changed: string[];
  changed_known: boolean;
}
