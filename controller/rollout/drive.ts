/**
 * The rollout shell's decision, still pure: from the records (after the reconcile
 * planner's changes), what hosts report, and the clock, derive every rollout's
 * SlotViews, take one `nextStep`, and turn its actions into record changes that
 * the loop commits in the same txn as the rollout records. Nothing is remembered
 * between passes: a controller restart re-derives everything from the store.
 *
 * Actions → records:
 *   drain    drainingSinceMs = now (the copy leaves the endpoints, keeps running)
 *   replace  revision = r, epoch = next, drain cleared (the agent stops the old copy, starts the new)
 *   surge    moveTo = { spare host, next epoch, r, surge } (the spare is chosen by the scheduler)
 *   retire   drainingSinceMs = now; the planner moves the slot to the surge host after drainTime
 *   cancel   moveTo = null (the spare is freed, the agent there stops the copy)
 */
import { wantsRoot } from "../../shared/spec/run-as.js";
import type { NewEvent } from "../events/event-log.js";
import { schedule } from "../scheduler/schedule.js";
import { snapshotOf, type HostView } from "../reconcile/planner.js";
import { clearFailures } from "../reschedule/policy.js";
import type { HostRecord } from "../hosts/host.js";
import { silentHosts } from "../reconcile/endpoints.js";
import { instanceId, nextEpoch, previousOf, referencedRevisions, specToRestore, withRevision, type InstanceRecord, type ObservedInstance, type ServiceRecord } from "../services/records.js";
import { nextStep, startRollout, surgeCarries, type Action, type RolloutState, type SlotView } from "./next-step.js";
import { copyFacts, copyPhase } from "./phase.js";

export interface DriveInput {
  services: readonly ServiceRecord[];
  /** Every instance record, as the reconcile planner leaves them this pass. */
  instances: readonly InstanceRecord[];
  rollouts: readonly RolloutState[];
  hosts: readonly HostView[];
  observed: ReadonlyMap<string, ObservedInstance>;
  nowMs: number;
  /** No copy leaves the endpoints before this (NextStepInput.takeOutFromMs). */
  takeOutFromMs?: number;
}

export interface DriveOutput {
  puts: InstanceRecord[];
  putRollouts: RolloutState[];
  /** An automatic revert makes an earlier revision current again. */
  putServices: ServiceRecord[];
  events: NewEvent[];
  wakeAtMs?: number;
}

/** What the rollout needs of a host: its health. */
type Hosts = ReadonlyMap<string, Pick<HostRecord, "health">>;

/** No usable host: waiting for placement, or its host is down (SlotView.stranded). */
function isStranded(i: InstanceRecord, hosts: Hosts): boolean {
  if (i.moveTo) return false;
  const h = i.hostId ? hosts.get(i.hostId) : undefined;
  return !h || h.health === "down";
}


/** The rollout's view of each slot (rollout/next-step.ts: SlotView), for nextStep and `berth rollout status`. */
export function slotViews(svc: ServiceRecord, instances: readonly InstanceRecord[], hosts: Hosts, observed: ReadonlyMap<string, ObservedInstance>, nowMs: number): SlotView[] {
  const minHealthy = svc.spec.update.minHealthyTimeMs;
  return instances
    .filter((i) => i.service === svc.name)
    .sort((a, b) => a.slot - b.slot)
    .map((i) => {
      const draining = i.drainingSinceMs ?? null;
      const serving = copyFacts(i.hostId, i, i.epoch, hosts, observed);
      let surge: SlotView["surge"] = null;
      if (i.moveTo) {
        const f = copyFacts(i.moveTo.hostId, i, i.moveTo.epoch, hosts, observed);
        surge = { revision: i.moveTo.revision ?? i.revision, phase: copyPhase({ ...f, drainingSinceMs: null }, minHealthy, nowMs), healthySinceMs: f.healthySinceMs };
      }
      return {
        slot: i.slot,
        stranded: isStranded(i, hosts),
        revision: i.revision,
        phase: copyPhase({ ...serving, drainingSinceMs: draining }, minHealthy, nowMs),
        healthySinceMs: serving.healthySinceMs,
        drainingSinceMs: draining,
        surge,
      };
    });
}

/**
 * Spare hosts for surge copies of `svc`, best first: ready, empty, not reserved,
 * fitting its constraints and resources — what the scheduler would pick for
 * `count` more copies of the service.
 */
export function spareHosts(svc: ServiceRecord, input: Pick<DriveInput, "services" | "hosts" | "nowMs">, instances: readonly InstanceRecord[], wanted: number): string[] {
  // No more spares than hosts: `wanted` comes from a stored maxSurge, which records
  // written before it was bounded may hold as 1e9 (one ghost slot each ran the heap out).
  const count = Math.min(wanted, input.hosts.length);
  if (!(count > 0)) return [];
  const snap = snapshotOf(input, instances);
  const ghost = `${svc.name}\u0000surge`;
  const slots = Array.from({ length: count }, (_, k) => k);
  const plan = schedule(
    {
      ...snap,
      services: [...snap.services, { name: ghost, instances: count, constraints: svc.spec.constraints, spread: "", resources: svc.spec.resources, artifactDigest: svc.spec.artifact?.sha256 ?? "", root: wantsRoot(svc.spec) }],
      instances: [...snap.instances, ...slots.map((slot) => ({ service: ghost, slot, hostId: "", pinnedHost: "", avoidHosts: [] }))],
    },
    { only: slots.map((slot) => ({ service: ghost, slot })) },
  );
  return plan.place.map((p) => p.hostId);
}

export function driveRollouts(input: DriveInput): DriveOutput {
  const out: DriveOutput = { puts: [], putRollouts: [], putServices: [], events: [] };
  const hosts = new Map(input.hosts.map((h) => [h.rec.id, h.rec]));
  const services = new Map(input.services.map((s) => [s.name, s]));
  const byKey = new Map(input.instances.map((i) => [`${i.service}/${i.slot}`, i]));
  const wake = (at: number | null | undefined): void => {
    if (at != null) out.wakeAtMs = Math.min(out.wakeAtMs ?? Number.POSITIVE_INFINITY, at);
  };

  for (const r of input.rollouts) {
    const svc = services.get(r.service);
    if (!svc || r.status === "succeeded") continue;
    const u = svc.spec.update;
    // A scaled-down copy on its way out (its drainTime) is no slot of the rollout's.
    const all = [...byKey.values()].filter((i) => !i.scaledDown);
    // A ready host that has not said what it runs (a restarted controller, a
    // reconnecting agent) would look out of service, and so free to replace: wait
    // for its word. The reconcile tick looks again within a second.
    if (silentHosts(svc.name, all, hosts, input.observed).length > 0) continue;
    // The slots' views, only where prepare meets a superseded surge copy (rare): not built twice every pass.
    let pre: Map<number, SlotView> | undefined;
    const viewOf = (slot: number): SlotView | undefined => (pre ??= new Map(slotViews(svc, all, hosts, input.observed, input.nowMs).map((v) => [v.slot, v]))).get(slot);
    const before = prepare(r, svc, all, hosts, viewOf, input.nowMs);
    for (const i of before.puts) {
      byKey.set(`${i.service}/${i.slot}`, i);
      out.puts.push(i);
    }
    out.events.push(...before.events);
    // A retire prepare issued is due when its drain ends (at once with drainTime 0), as nextStep's own are.
    if (before.retired) wake(input.nowMs + u.drainTimeMs);
    const mine = [...byKey.values()].filter((i) => !i.scaledDown);
    const views = slotViews(svc, mine, hosts, input.observed, input.nowMs);
    const surges = views.filter((v) => v.surge !== null).length;
    // A surge per instance at most, whatever a stored maxSurge says.
    const spares = spareHosts(svc, input, mine, Math.min(u.maxSurge, svc.spec.instances) - surges);
    const step = nextStep({ rollout: before.rollout, update: u, instances: svc.spec.instances, slots: views, spareHosts: spares.length, nowMs: input.nowMs, takeOutFromMs: input.takeOutFromMs });
    for (const e of step.events) out.events.push({ type: e.type, service: svc.name, message: e.message });
    for (const a of step.actions) {
      const k = `${svc.name}/${a.slot}`;
      const i = byKey.get(k);
      if (!i) continue;
      const next = apply(i, a, spares, input.nowMs);
      if (next === i) continue;
      byKey.set(k, next);
      out.puts.push(next);
      out.events.push({ type: `rollout.${a.kind}`, service: svc.name, host: next.moveTo?.hostId ?? next.hostId, message: describe(a, i, next) });
    }
    let rollout = step.rollout;
    let current = svc;
    if (step.revertTo !== undefined) {
      // Every copy still running keeps its revision's spec, a scaled-down one included.
      const refs = referencedRevisions([...byKey.values()].filter((i) => i.service === svc.name));
      refs.add(r.toRevision);
      // A revert is no new step forward: undo from the restored revision still goes where it went before.
      current = withRevision(svc, step.revertTo, specToRestore(svc, step.revertTo), refs, input.nowMs, { previousRevision: previousOf(svc, step.revertTo) });
      out.putServices.push(current);
      rollout = startRollout(svc.name, r.toRevision, step.revertTo, input.nowMs, { autoReverted: true, because: step.rollout.reason });
      out.events.push({ type: "service.reverted", service: svc.name, message: `revision ${step.revertTo} is current again (revision ${r.toRevision} failed)` });
      wake(input.nowMs);
    }
    if (JSON.stringify(rollout) !== JSON.stringify(r)) out.putRollouts.push(rollout);
    wake(step.wakeAtMs);
  }
  // Puts collapse to the last change per slot: two actions on one slot in a pass build on each other.
  const last = new Map(out.puts.map((p) => [`${p.service}/${p.slot}`, p]));
  out.puts = [...last.values()];
  return out;
}

const ACTIVE = new Set(["running", "reverting"]);

/**
 * What the shell settles before a step, so the pure machine never waits on it:
 *  - a surge copy of another revision (left by a rollout this one superseded) is
 *    stopped: its spare is needed, and it would hold maxSurge forever. Unless it alone
 *    carries its slot (surgeCarries): then it is kept as the slot's copy (retired into it:
 *    nothing leaves the endpoints), and the rollout moves the slot like any other;
 *  - a batch slot whose surge copy was lost (its spare died, or it was not healthy
 *    when its retire ended) gets another go: the issued surge/retire are forgotten
 *    and the batch's healthy deadline restarts — losing a spare is not the revision's fault;
 *  - a stranded slot (no host, or its host down) takes the target revision, so it
 *    comes back on it; it is not batched (SlotView.stranded).
 */
function prepare(r: RolloutState, svc: ServiceRecord, all: readonly InstanceRecord[], hosts: Hosts, viewOf: (slot: number) => SlotView | undefined, nowMs: number): { rollout: RolloutState; puts: InstanceRecord[]; events: NewEvent[]; retired: boolean } {
  const puts: InstanceRecord[] = [];
  const events: NewEvent[] = [];
  let retired = false;
  let rollout = r;
  for (const i of all) {
    if (i.service !== svc.name) continue;
    let next = i;
    const surgeRev = next.moveTo?.surge ? (next.moveTo.revision ?? next.revision) : undefined;
    if (next.moveTo && surgeRev !== undefined && surgeRev !== r.toRevision && next.drainingSinceMs == null && r.status !== "succeeded") {
      const v = viewOf(i.slot);
      if (v !== undefined && surgeCarries(v)) {
        retired = true;
        events.push({ type: "rollout.retire", service: svc.name, host: next.moveTo.hostId, message: `${instanceId(i.service, i.slot)}: the surge copy of revision ${surgeRev} on ${next.moveTo.hostId} alone serves the slot (its copy on ${i.hostId || "-"} is ${v.phase}): kept as the slot's copy` });
        next = { ...next, drainingSinceMs: nowMs };
      } else {
        events.push({ type: "rollout.cancel", service: svc.name, host: next.moveTo.hostId, message: `${instanceId(i.service, i.slot)}: the surge copy of revision ${surgeRev} on ${next.moveTo.hostId} is stopped (superseded by revision ${r.toRevision})` });
        next = { ...next, moveTo: null, lastEpoch: Math.max(next.lastEpoch ?? 0, next.moveTo.epoch) };
      }
    }
    const b = rollout.batch;
    if (b && ACTIVE.has(r.status) && b.viaSpare.includes(i.slot) && !next.moveTo && next.revision !== r.toRevision && b.issued.some((x) => x.slot === i.slot && (x.kind === "surge" || x.kind === "retire"))) {
      rollout = { ...rollout, batch: { ...b, startedAtMs: nowMs, issued: b.issued.filter((x) => x.slot !== i.slot || (x.kind !== "surge" && x.kind !== "retire")) } };
      events.push({ type: "rollout.surge-lost", service: svc.name, message: `${instanceId(i.service, i.slot)}: its surge copy is gone; trying again` });
    }
    if (isStranded(next, hosts) && next.revision !== r.toRevision && ACTIVE.has(r.status)) next = clearFailures({ ...next, revision: r.toRevision, drainingSinceMs: null });
    if (next !== i) puts.push(next);
  }
  return { rollout, puts, events, retired };
}

/** The record after an action; the record itself when the action cannot be carried out now. */
function apply(i: InstanceRecord, a: Action, spares: string[], nowMs: number): InstanceRecord {
  switch (a.kind) {
    case "drain":
    case "retire":
      return { ...i, drainingSinceMs: nowMs };
    case "replace": {
      if (!i.hostId) return clearFailures({ ...i, revision: a.revision, drainingSinceMs: null });
      const epoch = nextEpoch(i);
      return clearFailures({ ...i, revision: a.revision, epoch, lastEpoch: epoch, drainingSinceMs: null });
    }
    case "surge": {
      const host = spares.shift();
      if (host === undefined) return i;
      const epoch = nextEpoch(i);
      return { ...i, moveTo: { hostId: host, epoch, revision: a.revision, surge: true }, lastEpoch: epoch };
    }
    case "cancel":
      if (!i.moveTo) return i;
      return { ...i, moveTo: null, lastEpoch: Math.max(i.lastEpoch ?? 0, i.moveTo.epoch) };
  }
}

function describe(a: Action, before: InstanceRecord, after: InstanceRecord): string {
  const id = instanceId(before.service, before.slot);
  switch (a.kind) {
    case "drain":
      return `${id} leaves the endpoints (drain) on ${before.hostId}`;
    case "replace":
      return `${id} restarted on revision ${a.revision}${before.hostId ? ` on ${before.hostId}` : ""}`;
    case "surge":
      return `${id}: a copy on revision ${a.revision} starts on spare ${after.moveTo?.hostId ?? "?"}`;
    case "retire":
      return `${id}: the copy on ${before.hostId} drains; ${before.moveTo?.hostId ?? "?"} takes over after drainTime`;
    case "cancel":
      return `${id}: the surge copy on ${before.moveTo?.hostId ?? "?"} is stopped`;
  }
}
