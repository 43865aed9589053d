/**
 * What the controller stores about services and their instances.
 *   services/<name>              ServiceRecord: the spec and its revision
 *   instances/<name>/<slot>      InstanceRecord: where a slot runs, with its epoch
 * What hosts report about their instances lives in memory (ObservedInstance):
 * like heartbeats, it is re-sent by every agent on reconnect.
 */
import type { ServiceSpec } from "../../shared/spec/types.js";

export const SERVICE_PREFIX = "services/";
export const INSTANCE_PREFIX = "instances/";
export const serviceKey = (name: string): string => `${SERVICE_PREFIX}${name}`;
export const instanceKey = (service: string, slot: number): string => `${INSTANCE_PREFIX}${service}/${slot.toString().padStart(5, "0")}`;
export const instanceId = (service: string, slot: number): string => `${service}-${slot}`;

export interface ServiceRecord {
  name: string;
  spec: ServiceSpec;
  /** Increases by one with every applied change of the spec: BERTH_VERSION. */
  revision: number;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface InstanceRecord {
  service: string;
  slot: number;
  /** The host that runs it; "" while pending. */
  hostId: string;
  /**
   * Strictly increasing per slot: every placement on a host takes a new one, so a
   * host that comes back with an older epoch is running a superseded copy.
   */
  epoch: number;
  /** The service revision this instance should run. */
  revision: number;
  pinnedHost: string;
  /** Hosts where it failed for good; not tried again. */
  avoidHosts: string[];
  /** A health-gated move in progress: the new copy runs here, the old one stops when it is healthy. */
  moveTo: { hostId: string; epoch: number } | null;
  /**
   * The highest epoch ever issued for this slot (an abandoned move's included),
   * so a new copy never reuses the epoch of one that may still run somewhere.
   * Absent in records written before it existed: epoch stands in.
   */
  lastEpoch?: number;
}

/** The next epoch for a slot: strictly above every epoch it has had. */
export function nextEpoch(i: Pick<InstanceRecord, "epoch" | "lastEpoch" | "moveTo"> | undefined): number {
  if (!i) return 1;
  return Math.max(i.epoch, i.lastEpoch ?? 0, i.moveTo?.epoch ?? 0) + 1;
}

/** The states of DESIGN.md's instance lifecycle, as agents report them. */
export const INSTANCE_STATES = ["pending", "fetching", "installing", "starting", "healthy", "unhealthy", "stopping", "stopped", "failed"] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

export interface ObservedInstance {
  hostId: string;
  service: string;
  instance: string;
  epoch: number;
  revision: number;
  state: InstanceState;
  detail: string;
  restarts: number;
  /** Controller clock when the agent's report arrived for this state. */
  sinceMs: number;
  pid: number;
  resourcesEnforced: boolean;
  resourcesNote: string;
  installTail: string;
}

/** The whole desired state of each host, derived from the records alone. */
export function assignments(instances: readonly InstanceRecord[]): Map<string, { inst: InstanceRecord; epoch: number }> {
  const m = new Map<string, { inst: InstanceRecord; epoch: number }>();
  for (const i of instances) {
    if (i.hostId) m.set(i.hostId, { inst: i, epoch: i.epoch });
    if (i.moveTo) m.set(i.moveTo.hostId, { inst: i, epoch: i.moveTo.epoch });
  }
  return m;
}
