/**
 * What the controller stores about services and their instances.
 *   services/<name>              ServiceRecord: the spec and its revision
 *   instances/<name>/<slot>      InstanceRecord: where a slot runs, with its epoch
 *   rollouts/<name>              RolloutState (rollout/next-step.ts): the rollout in progress or the last one
 * What hosts report about their instances lives in memory (ObservedInstance):
 * like heartbeats, it is re-sent by every agent on reconnect.
 */
import { z } from "zod";
import type { Same } from "../../shared/same-type.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import { FAILURE_DETAIL_CHARS, FAILURE_OUTPUT_CHARS, type HostFailure } from "../reschedule/policy.js";
import { StoredSpecSchema, StoredSpecShape } from "../../shared/spec/normal-schema.js";

export const SERVICE_PREFIX = "services/";
export const INSTANCE_PREFIX = "instances/";
export const ROLLOUT_PREFIX = "rollouts/";
export const serviceKey = (name: string): string => `${SERVICE_PREFIX}${name}`;
export const rolloutKey = (name: string): string => `${ROLLOUT_PREFIX}${name}`;
/** Slots are numbered below this: instanceKey pads them to five digits. */
export const MAX_SLOT = 99_999;
export const instanceKey = (service: string, slot: number): string => `${INSTANCE_PREFIX}${service}/${slot.toString().padStart(5, "0")}`;
export const instanceId = (service: string, slot: number): string => `${service}-${slot}`;

export interface ServiceRecord {
  name: string;
  spec: ServiceSpec;
  /**
   * The revision new copies run (BERTH_VERSION). A change that restarts the
   * process (anything but `instances` and `update`) or `berth restart` takes a
   * new one, above every revision issued before; a revert or an undo goes back
   * to an earlier one, so the copies that never left it are not restarted.
   */
  revision: number;
  /** The highest revision ever issued. Absent in records written before it existed: revision stands in. */
  latestRevision?: number;
  /** The revision that was current before this one: what `berth rollout undo` goes back to; 0 = none. */
  previousRevision?: number;
  /** Specs of earlier revisions still referenced (by instances, the rollout, undo), newest first. */
  history?: SpecRevision[];
  createdAtMs: number;
  updatedAtMs: number;
  /**
   * The environment the current spec was applied for (`berth apply --env`, else the
   * controller's own `--environment`); "" or absent: none was given.
   */
  environment?: string;
  /**
   * Since when the current artifact (by digest) runs in `environment`: kept by every
   * apply that changes neither, so `berth plan --env prod` can say "running in staging
   * since …". Absent in records written before it existed.
   */
  artifactSinceMs?: number;
}

export interface SpecRevision {
  revision: number;
  spec: ServiceSpec;
  /** What was current before this revision became current: where an undo from it would go. */
  previousRevision?: number;
  /** The environment this revision was applied for (ServiceRecord.environment then). */
  environment?: string;
}

/** What identifies a spec's build across environments: its digest (a URL artifact's too); "" none. */
export function artifactDigest(spec: ServiceSpec): string {
  return spec.artifact?.sha256 ?? "";
}

const revisionNumber = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const timeMs = z.number().min(0).max(Number.MAX_SAFE_INTEGER);

/** A stored ServiceRecord (controller/store/record.ts decodes with it). */
export const ServiceRecordSchema = z.object({
  name: z.string().min(1),
  spec: StoredSpecSchema,
  revision: revisionNumber,
  latestRevision: revisionNumber.optional(),
  previousRevision: revisionNumber.optional(),
  // Earlier revisions are kept for reference and undo: their shape is checked, not rules added since.
  history: z.array(z.object({ revision: revisionNumber, spec: StoredSpecShape, previousRevision: revisionNumber.optional(), environment: z.string().max(63).optional() })).optional(),
  createdAtMs: timeMs,
  updatedAtMs: timeMs,
  environment: z.string().max(63).optional(),
  artifactSinceMs: timeMs.optional(),
});

/** The spec a copy on `revision` runs: the current one, or the revision's from history (the current one if it was pruned). */
export function specOf(svc: ServiceRecord, revision: number): ServiceSpec {
  if (revision === svc.revision) return svc.spec;
  return svc.history?.find((h) => h.revision === revision)?.spec ?? svc.spec;
}

/** How many unreferenced earlier revisions a service keeps (for undo and for the operator's reference). */
export const HISTORY_KEEP = 3;

/**
 * The record after `revision` becomes current with `spec`: the outgoing spec
 * joins the history, which keeps every revision in `referenced` and the newest
 * HISTORY_KEEP others.
 */
export function withRevision(svc: ServiceRecord, revision: number, spec: ServiceSpec, referenced: ReadonlySet<number>, nowMs: number, o: { previousRevision?: number } = {}): ServiceRecord {
  const all = [{ revision: svc.revision, spec: svc.spec, previousRevision: svc.previousRevision ?? 0, ...(svc.environment ? { environment: svc.environment } : {}) }, ...(svc.history ?? [])].filter((h, i, a) => h.revision !== revision && a.findIndex((x) => x.revision === h.revision) === i);
  all.sort((a, b) => b.revision - a.revision);
  let others = 0;
  const history = all.filter((h) => referenced.has(h.revision) || h.revision === svc.revision || others++ < HISTORY_KEEP);
  return {
    ...svc,
    spec,
    revision,
    latestRevision: Math.max(revision, svc.latestRevision ?? svc.revision),
    previousRevision: o.previousRevision ?? svc.revision,
    history,
    updatedAtMs: nowMs,
    // A revert to another build starts its time in the environment afresh.
    ...(artifactDigest(spec) !== artifactDigest(svc.spec) ? { artifactSinceMs: nowMs } : {}),
  };
}

/**
 * An earlier revision made current again (a revert, an undo): its spec from history,
 * but with the current `instances` and `update` — those change no revision, so going
 * back must not undo a scale or new rollout settings made since.
 */
export function specToRestore(svc: ServiceRecord, revision: number): ServiceSpec {
  return { ...specOf(svc, revision), instances: svc.spec.instances, update: svc.spec.update };
}

/** Where an undo from `revision` goes: what was current before it (0: unknown). */
export function previousOf(svc: ServiceRecord, revision: number): number {
  if (revision === svc.revision) return svc.previousRevision ?? 0;
  return svc.history?.find((h) => h.revision === revision)?.previousRevision ?? 0;
}

/** Revisions that copies of these instances run or move to. */
export function referencedRevisions(instances: readonly InstanceRecord[]): Set<number> {
  const s = new Set<number>();
  for (const i of instances) {
    s.add(i.revision);
    if (i.moveTo) s.add(i.moveTo.revision ?? i.revision);
  }
  return s;
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
  /**
   * Where this slot failed for good recently, oldest first (reschedule/policy.ts):
   * the backoff before it is placed again, and hosts it prefers not to return to.
   * Expired entries are ignored and dropped at the next failure. Absent in records
   * written before it existed; those had `avoidHosts` (permanent bans, no time),
   * which is no longer read.
   */
  failures?: HostFailure[];
  /**
   * A second copy on another host. A move (pin, host drain): the old copy leaves
   * the endpoints once the new one is in service, and stops drainTime later. A
   * surge (a rollout with maxSurge): the new copy runs `revision` and takes over
   * only when the rollout retires the old one.
   */
  moveTo: MoveTo | null;
  /**
   * When the controller took the serving copy out of the endpoints (a rollout's
   * drain or retire); it keeps running until it is replaced or retired. Absent/null: in service.
   */
  drainingSinceMs?: number | null;
  /**
   * Scaled down (its slot is at or above `instances`): out of the endpoints since
   * drainingSinceMs, it stops drainTime later, as a rollout's old copy does. Scaled up
   * again before then, it is back in service. Absent: not leaving.
   */
  scaledDown?: boolean;
  /**
   * The highest epoch ever issued for this slot (an abandoned move's included),
   * so a new copy never reuses the epoch of one that may still run somewhere.
   * Absent in records written before it existed: epoch stands in.
   */
  lastEpoch?: number;
  /**
   * Copies of this slot that stopped themselves by self-fencing on a host never judged
   * down, and were given back (controller/reconcile/planner.ts): the host, the copy's
   * epoch, and when its fenced stop began (ObservedInstance.sinceMs). A new entry makes
   * the member holding that host's stream send it its assignment again, unchanged
   * (member/assignments.ts), which the agent waits for after a fence. At most one per
   * copy the slot has (its host and, during a move or surge, the target). Absent: none.
   */
  resumed?: Resumed[];
  /**
   * Copies of this slot replaced when their host was judged down, while nothing stops them
   * there (failover.stopAfterDisconnect off): the host may only be cut off, its copy still
   * running and answering whoever still reaches it. Its agent stops it when it is back,
   * before the host counts as ready; the entry goes then (or when the host is removed or
   * forgotten). `berth status` says so. The newest MAX_LEFT_COPIES. Absent: none.
   */
  leftOn?: LeftCopy[];
}

export const MAX_LEFT_COPIES = 4;

/** A copy left on a host judged down: the host, the copy's epoch, when it was replaced. */
export interface LeftCopy {
  hostId: string;
  epoch: number;
  atMs: number;
}

export interface Resumed {
  hostId: string;
  epoch: number;
  sinceMs: number;
}

export interface MoveTo {
  hostId: string;
  epoch: number;
  /** The revision the new copy runs. Absent in records written before it existed: the instance's. */
  revision?: number;
  /** A rollout's surge copy: it does not take over when healthy, only when retired. */
  surge?: boolean;
  /**
   * A move's new copy was in service, so the move drained the old one (drainingSinceMs):
   * the slot moves after drainTime; abandoned, the move puts the old copy back in service.
   */
  drained?: boolean;
}

/** A stored InstanceRecord (controller/store/record.ts decodes with it). */
export const InstanceRecordSchema = z.object({
  service: z.string().min(1),
  slot: z.int().min(0).max(MAX_SLOT),
  hostId: z.string(),
  epoch: revisionNumber,
  revision: revisionNumber,
  pinnedHost: z.string(),
  // Records from before the reschedule policy hold `avoidHosts`: dropped on load (unknown keys are).
  failures: z.array(z.object({ hostId: z.string().min(1), atMs: timeMs, detail: z.string().max(FAILURE_DETAIL_CHARS).optional(), output: z.string().max(FAILURE_OUTPUT_CHARS).optional() })).max(1000).optional(),
  moveTo: z.object({ hostId: z.string().min(1), epoch: revisionNumber, revision: revisionNumber.optional(), surge: z.boolean().optional(), drained: z.boolean().optional() }).nullable(),
  drainingSinceMs: timeMs.nullable().optional(),
  scaledDown: z.boolean().optional(),
  lastEpoch: revisionNumber.optional(),
  resumed: z.array(z.object({ hostId: z.string().min(1), epoch: revisionNumber, sinceMs: timeMs })).max(2).optional(),
  leftOn: z.array(z.object({ hostId: z.string().min(1), epoch: revisionNumber, atMs: timeMs })).max(MAX_LEFT_COPIES).optional(),
});

const exact: [Same<z.output<typeof ServiceRecordSchema>, ServiceRecord>, Same<z.output<typeof InstanceRecordSchema>, InstanceRecord>] = [true, true];
void exact;

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

/** What `hostId` reports for exactly this copy (instance and epoch); undefined when it reports something else or nothing. */
export function observedCopy(observed: ReadonlyMap<string, ObservedInstance>, hostId: string, i: Pick<InstanceRecord, "service" | "slot">, epoch: number): ObservedInstance | undefined {
  const o = hostId ? observed.get(hostId) : undefined;
  return o && o.instance === instanceId(i.service, i.slot) && o.epoch === epoch ? o : undefined;
}

/** The whole desired state of each host, derived from the records alone. */
export function assignments(instances: readonly InstanceRecord[]): Map<string, { inst: InstanceRecord; epoch: number; revision: number }> {
  const m = new Map<string, { inst: InstanceRecord; epoch: number; revision: number }>();
  for (const i of instances) {
    if (i.hostId) m.set(i.hostId, { inst: i, epoch: i.epoch, revision: i.revision });
    if (i.moveTo) m.set(i.moveTo.hostId, { inst: i, epoch: i.moveTo.epoch, revision: i.moveTo.revision ?? i.revision });
  }
  return m;
}
