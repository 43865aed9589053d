/**
 * What the scheduler sees and what it returns: plain data, no store, no clock
 * beyond `nowMs` (STYLE.md: Nomad's State / Plan split).
 */

export interface SchedHost {
  id: string;
  /** ready = heartbeating and not joining; down hosts are not candidates */
  ready: boolean;
  cordoned: boolean;
  labels: Record<string, string>;
  /** Capacity of the host for a service: logical cores, MiB of memory, MiB of free disk. */
  capacity: { cpu: number; memoryMb: number; diskMb: number };
  /** Artifact digests the host already holds (soft preference). */
  artifacts: readonly string[];
  /** The agent allows services with run.user root (agent.yaml allowRoot). @default false */
  allowRoot?: boolean;
}

export interface SchedService {
  name: string;
  instances: number;
  constraints: Record<string, string[]>;
  /** label key to spread over, "" = none */
  spread: string;
  resources: { cpu: number; memoryMb: number; diskMb: number };
  artifactDigest: string;
  /** run.user root: only hosts with allowRoot take it (filters/root.ts). @default false */
  root?: boolean;
}

/** A slot of a service: instance `<service>-<slot>`, placed on hostId or pending (""). */
export interface SchedInstance {
  service: string;
  slot: number;
  hostId: string;
  /** Operator's pin (`berth place`): this slot must live on this host. "" = none. */
  pinnedHost: string;
  /**
   * Hosts this slot must not use, and must leave if it runs there (a hard rule:
   * the reconciler puts a draining host here). Not for failures: see recentFailures.
   */
  avoidHosts: readonly string[];
  /**
   * Where this slot failed recently (already windowed by the caller,
   * reschedule/policy.ts): those hosts rank after every other feasible host for
   * it (scorers/penalty.ts), fewest and oldest failures first. A soft rule: a
   * penalized host still takes the slot when no other can. Absent: none.
   */
  recentFailures?: readonly { readonly hostId: string; readonly atMs: number }[];
  /**
   * The slot is waiting out a reschedule backoff: it is neither placed nor
   * moved in this plan (a running one is kept), and not reported unplaced.
   */
  waiting?: boolean;
}

export interface Snapshot {
  hosts: readonly SchedHost[];
  services: readonly SchedService[];
  instances: readonly SchedInstance[];
  nowMs: number;
}

/** Why a host was passed over for an instance; counted per reason for messages. */
export type RejectReason =
  | { kind: "not-ready" }
  | { kind: "cordoned" }
  /** The service runs as root and the host's agent does not allow it. */
  | { kind: "no-root" }
  | { kind: "occupied" }
  | { kind: "constraint"; label: string; allowed: string[] }
  | { kind: "resources"; resource: "cpu" | "memoryMb" | "diskMb"; need: number }
  /** The host is in the slot's avoidHosts (the slot must leave it: a drain). */
  | { kind: "avoided" };

export interface Placement {
  service: string;
  slot: number;
  hostId: string;
}

export interface Unplaced {
  service: string;
  slot: number;
  /** e.g. "no spare host: 2 lack memoryMb>=4096, 1 is cordoned, 0 match dc=dc2" */
  reason: string;
}

export interface Plan {
  /** New placements: slots that were pending (or are new) and get a host. */
  place: Placement[];
  /** Slots to remove entirely (the service shrank or was deleted). */
  stop: { service: string; slot: number; hostId: string }[];
  /**
   * Slots that must change host: pinned elsewhere, or their host no longer fits
   * (constraints changed, cordoned hosts keep theirs). The reconciler moves them
   * health-gated: the new copy is healthy before the old one stops.
   */
  move: (Placement & { fromHost: string })[];
  /** Slots that stay on their host (for the reader's benefit: no change). */
  keep: Placement[];
  /** Slots no host can take, with the reason. */
  unplaced: Unplaced[];
  /**
   * Slots that should leave their host (it is draining or cordoned, or no longer fits
   * them) but that no other host can take: they stay on it (also in keep), with the reason.
   */
  stuck: (Placement & { reason: string })[];
}
