/**
 * Health-checked rolling updates, the pure core (DESIGN.md "Rollouts", Principle 4;
 * STYLE.md: Kubernetes' rolling.go and progress.go).
 *
 * `nextStep` takes ONE step from stored state: the stored RolloutState, the spec's
 * UpdateSpec, what the shell derives about each slot (SlotView), and the clock. It
 * returns the new state to store, the actions to apply in the same commit, events,
 * and when to look again. Nothing is remembered between calls but the returned
 * state, and there are no timers: every deadline is a stored timestamp, and
 * `wakeAtMs` tells the shell when the next one falls due.
 *
 * A batch is a set of slots moved to `toRevision` together. Each slot in it takes
 * one of two paths:
 *   in place:  drain (out of the endpoints) → drainTime → replace → healthy for
 *              minHealthyTime → in service again
 *   via spare: surge (a new copy on a spare host; the old one keeps serving) →
 *              the new copy healthy for minHealthyTime → retire (the old copy
 *              drains and stops, the slot moves to the spare)
 * A slot is done when its serving copy runs `toRevision` and is in service. The
 * next batch starts only when every slot of the current one has been done.
 *
 * Safety: a slot leaves the endpoints because of the rollout only through an
 * in-place drain, and a batch may drain only `maxUnavailable − out` slots, where
 * `out` counts every slot not in the endpoints right now, for whatever reason (one
 * that failed or turned unhealthy on its own costs the budget too). Slots that are
 * out already are replaced in place for free: that cannot lower availability.
 * Surging never takes anything out, so maxUnavailable 0 with maxSurge 1 upgrades a
 * single instance without a gap.
 *
 * Idempotence: each action is issued at most once per slot and kind per batch, and
 * the batch records what it issued. A second call with the returned state and
 * views that do not show the effects yet issues nothing.
 */
import { z } from "zod";
import type { Same } from "../../shared/same-type.js";
import type { UpdateSpec } from "../../shared/spec/types.js";
import { assertNever } from "../scheduler/assert-never.js";
import { formatDurationMs } from "../../shared/duration.js";

export type RolloutStatus =
  /** Moving batches forward. */
  | "running"
  /** An operator paused it: nothing new starts; a drained slot still gets its replacement. */
  | "paused"
  /** `canary` slots are done and in service; the rest waits for `promote`. */
  | "awaiting-promotion"
  | "succeeded"
  | "failed"
  /** Running, as an automatic revert of a failed rollout (`autoReverted`). */
  | "reverting";

/**
 * The phase of one copy of a slot, as the shell derives it (phase.ts: copyPhase).
 * "in-service" is exactly "in the endpoints": healthy for at least minHealthyTime
 * and not draining. "warming" is healthy but not yet that long.
 */
export type SlotPhase = "in-service" | "warming" | "starting" | "unhealthy" | "draining" | "stopped" | "pending" | "failed" | "lost";

/** A second copy of a slot on another host: a surge copy, or a host-drain move. */
export interface SurgeView {
  revision: number;
  phase: SlotPhase;
  healthySinceMs: number | null;
}

/** What the shell derives from the instance record and agent reports, per slot. */
export interface SlotView {
  slot: number;
  /** The revision the slot's serving copy runs (as reported; the record's until a report arrives). */
  revision: number;
  phase: SlotPhase;
  /** When the serving copy turned healthy; null when it is not healthy. */
  healthySinceMs: number | null;
  /** When the serving copy left the endpoints (a drain or a retire); null when it has not. */
  drainingSinceMs: number | null;
  surge: SurgeView | null;
  /**
   * No usable host: waiting for placement, or its host is down (failover held or not
   * yet due). The reconcile loop brings it back, on `toRevision` (the shell sets its
   * revision); the rollout does not wait for it, batch it, or fail for it — but it
   * is out of the endpoints, so it still counts against maxUnavailable.
   */
  stranded?: boolean;
}

export type Action =
  /** Take the slot's serving copy out of the endpoints: set drainingSinceMs = now. */
  | { kind: "drain"; slot: number }
  /** Stop the serving copy and start `revision` in its place (issued after drainTime, or at once for a copy that is out already). */
  | { kind: "replace"; slot: number; revision: number }
  /** Start `revision` on a spare host; the serving copy keeps serving. */
  | { kind: "surge"; slot: number; revision: number }
  /**
   * The surge copy has been healthy for minHealthyTime: drain the serving copy now,
   * and once it has drained for drainTime stop it and make the surge copy the slot's
   * serving copy (the slot moves to the spare). The shell finishes this on its own;
   * `wakeAtMs` covers the drain's end.
   */
  | { kind: "retire"; slot: number }
  /** Stop the surge copy and free its spare; the serving copy is untouched (a failed or superseded rollout's surge). */
  | { kind: "cancel"; slot: number };

export interface IssuedAction {
  slot: number;
  kind: Action["kind"];
}

export interface RolloutBatch {
  /** The slots of this batch, in the order they were picked. */
  slots: number[];
  /** When the batch began: healthyDeadline is measured from here (plus drainTime when it drains). */
  startedAtMs: number;
  /** The slots taken via a spare (surge → retire); the others are replaced in place. */
  viaSpare: number[];
  /** Every action issued for this batch: what makes a repeated call issue nothing new. */
  issued: IssuedAction[];
  /** Slots that have been done at some call: each counts as progress once. */
  done: number[];
}

/** Phases of a copy known not to work (a first rollout's from revision: RolloutState.fromWorked). */
const BROKEN: ReadonlySet<SlotPhase> = new Set(["unhealthy", "failed", "pending"]);

/** Stored as rollouts/<service>. */
export interface RolloutState {
  service: string;
  /** The last good revision: what an automatic revert goes back to. */
  fromRevision: number;
  toRevision: number;
  status: RolloutStatus;
  /** Why it failed, is paused or waits, for `berth rollout status`; "" while it just moves. */
  reason: string;
  startedAtMs: number;
  /** progressDeadline is measured from here: the last time a slot was newly done (or the start, promote, resume). */
  lastProgressAtMs: number;
  batch: RolloutBatch | null;
  /** The canary was promoted: no more stopping after `canary` slots. */
  promoted: boolean;
  /** This rollout is an automatic revert of a failed one: it is never reverted itself, and has no canary. */
  autoReverted: boolean;
  /** An automatic revert: why the rollout it undoes failed (its reason), kept for `rollout status` once the revert ends. */
  revertOf?: string;
  /**
   * Whether fromRevision was seen working, for a service's first rollout (one with no
   * rollout before it, the only one whose from revision no rollout ever reached): "unknown"
   * until its first step looks; "no" when every copy of it was broken then (crash-looping,
   * unhealthy, failed, waiting to be placed again: a service created broken), and a failure
   * is then not reverted to it. Absent (every later rollout, and records from before it was
   * kept): reverted as always.
   */
  fromWorked?: "unknown" | "yes" | "no";
  /**
   * Since when a slot already on toRevision, outside the current batch, has been out of
   * service (unhealthy or failed: it relapsed after it was in service, or a new slot never
   * got there): no batch starts meanwhile, and one that does not come back within
   * healthyDeadline fails the rollout. Absent: none is.
   */
  relapseSinceMs?: number;
  /** When it succeeded or failed; absent while it has not ended. */
  endedAtMs?: number;
}

const ROLLOUT_STATUSES = ["running", "paused", "awaiting-promotion", "succeeded", "failed", "reverting"] as const satisfies readonly RolloutStatus[];
const ACTION_KINDS = ["drain", "replace", "surge", "retire", "cancel"] as const satisfies readonly Action["kind"][];
const nat = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const slots = z.array(z.int().min(0).max(Number.MAX_SAFE_INTEGER));

/** A stored RolloutState, rollouts/<service> (controller/store/record.ts decodes with it). */
export const RolloutStateSchema = z.object({
  service: z.string().min(1),
  fromRevision: nat,
  toRevision: nat,
  status: z.enum(ROLLOUT_STATUSES),
  reason: z.string(),
  startedAtMs: nat,
  lastProgressAtMs: nat,
  batch: z
    .object({
      slots,
      startedAtMs: nat,
      viaSpare: slots,
      issued: z.array(z.object({ slot: nat, kind: z.enum(ACTION_KINDS) })),
      done: slots,
    })
    .nullable(),
  promoted: z.boolean(),
  autoReverted: z.boolean(),
  revertOf: z.string().optional(),
  fromWorked: z.enum(["unknown", "yes", "no"]).optional(),
  relapseSinceMs: nat.optional(),
  endedAtMs: nat.optional(),
});

const exact: Same<z.output<typeof RolloutStateSchema>, RolloutState> = true;
void exact;

export interface RolloutEvent {
  type: string;
  message: string;
}

export interface NextStepInput {
  rollout: RolloutState;
  update: UpdateSpec;
  /** The spec's instance count. */
  instances: number;
  slots: readonly SlotView[];
  /** Hosts ready, empty, not reserved, and fitting the service's constraints and resources. */
  spareHosts: number;
  nowMs: number;
  /**
   * Before this time the step takes no copy out of the endpoints (no drain, no retire,
   * no new batch): set by the shell to the leader's term start plus FOLLOWER_GRACE_MS,
   * so followers of the endpoints that lost the previous controller are back before a
   * drain's drainTime starts counting. Absent: no hold.
   */
  takeOutFromMs?: number;
}

/**
 * How long a controller that starts leading (a start, a restart, a leadership change)
 * takes nothing out of the endpoints. A follower of the endpoints (`berth endpoints -w`,
 * `berth lb`) whose controller went away is reconnecting meanwhile, and sees nothing of a
 * drain until it is back: a drain issued at once would stop its copy drainTime later,
 * while the follower still sends to it (the rollout test's load generator did, at load
 * 6-19, in 6 runs of 7). berth's followers retry at least every second (cli/watch.ts
 * WATCH_BACKOFF, cli/lb/follow.ts FOLLOW_BACKOFF, on channels whose own reconnect
 * backoff is capped at 1 s: cli/client.ts): back well within 5 s of the controller
 * listening again. Other followers should retry as often.
 */
export const FOLLOWER_GRACE_MS = 5000;

export interface NextStepResult {
  rollout: RolloutState;
  actions: Action[];
  /**
   * The earliest future deadline or timer (drain end, minHealthyTime reached,
   * healthyDeadline, progressDeadline); null: nothing is timed. ≤ nowMs only when
   * this call's own actions make the next step due at once (a retire with drainTime 0):
   * the shell then steps again right after committing them.
   */
  wakeAtMs: number | null;
  events: RolloutEvent[];
  /** Set on the call that fails a rollout with autoRevert: start startRollout(service, toRevision, revertTo, now, { autoReverted: true }). */
  revertTo?: number;
}

/** A new rollout; an automatic revert starts in status "reverting". */
export function startRollout(service: string, from: number, to: number, nowMs: number, o: { autoReverted?: boolean; because?: string; first?: boolean } = {}): RolloutState {
  const autoReverted = o.autoReverted ?? false;
  return {
    service,
    fromRevision: from,
    toRevision: to,
    status: autoReverted ? "reverting" : "running",
    reason: autoReverted ? revertReason(from, o.because) : "",
    startedAtMs: nowMs,
    lastProgressAtMs: nowMs,
    batch: null,
    promoted: false,
    autoReverted,
    ...(autoReverted && o.because ? { revertOf: o.because } : {}),
    ...(o.first && !autoReverted ? { fromWorked: "unknown" as const } : {}),
  };
}

/** "automatic revert of revision 3: slot 0 not in service on revision 3 within healthyDeadline (1m)" */
function revertReason(from: number, because: string | undefined): string {
  return `automatic revert of revision ${from}${because ? `: ${because}` : ""}`;
}

/**
 * `berth rollout promote`: past the canary. Promoting early (still running or paused)
 * lifts the canary stop ahead of time; promoting an ended rollout changes nothing.
 */
export function promote(r: RolloutState, nowMs: number): RolloutState {
  switch (r.status) {
    case "awaiting-promotion":
      // The wait for a human is not lack of progress: the deadline restarts now.
      return { ...r, status: "running", promoted: true, reason: "", lastProgressAtMs: nowMs };
    case "running":
    case "paused":
    case "reverting":
      // Promoted already (by an operator, or a restart or undo that never stops at a canary): nothing changes.
      return r.promoted ? r : { ...r, promoted: true };
    case "succeeded":
    case "failed":
      return r;
    default:
      return assertNever(r.status);
  }
}

/** `berth rollout pause`: stop starting anything new. Pausing an ended or paused rollout changes nothing. */
export function pause(r: RolloutState, reason = "paused by an operator"): RolloutState {
  switch (r.status) {
    case "running":
    case "reverting":
    case "awaiting-promotion":
      return { ...r, status: "paused", reason };
    case "paused":
    case "succeeded":
    case "failed":
      return r;
    default:
      return assertNever(r.status);
  }
}

/**
 * `berth rollout resume`. Deadlines are not checked while paused, and restart from
 * now: time the operator did not let the rollout move must not fail it. A rollout
 * paused while awaiting promotion resumes running; the next step finds the canary
 * done and waits for promotion again.
 */
export function resume(r: RolloutState, nowMs: number): RolloutState {
  if (r.status !== "paused") return r;
  return {
    ...r,
    status: r.autoReverted ? "reverting" : "running",
    reason: "",
    lastProgressAtMs: nowMs,
    batch: r.batch ? { ...copyBatch(r.batch), startedAtMs: nowMs } : null,
  };
}

const copyInService = (p: SlotPhase | undefined): boolean => p === "in-service";

/** A slot is in the endpoints when its serving copy or its surge copy is in service. */
function inEndpoints(v: SlotView): boolean {
  return copyInService(v.phase) || copyInService(v.surge?.phase);
}

/**
 * The slots in service, for the endpoints API. For each, the shell publishes every
 * copy whose phase is "in-service": the serving copy, the surge copy, or both (a
 * retire drains the serving copy, so the surge copy alone carries the slot then).
 */
export function endpoints(slots: readonly SlotView[]): number[] {
  return slots
    .filter(inEndpoints)
    .map((v) => v.slot)
    .sort((a, b) => a - b);
}

/** On the target revision and in service, with no second copy of another revision left over. */
export function isDone(v: SlotView, to: number): boolean {
  return v.revision === to && v.phase === "in-service" && (v.surge === null || v.surge.revision === to);
}

/**
 * A retire in progress: the serving copy drains while the surge copy serves. The
 * shell finishes it whatever happens to the rollout that issued it, so nobody
 * touches the slot meanwhile: cancelling that surge copy would leave the slot with
 * nothing in service.
 */
function isRetiring(v: SlotView): boolean {
  return v.surge !== null && v.drainingSinceMs !== null;
}

/** A surge copy of a revision that is neither this rollout's nor the serving one: left by a failed or superseded rollout. */
function hasStaleSurge(v: SlotView, to: number): boolean {
  return v.surge !== null && v.surge.revision !== to && v.surge.revision !== v.revision && !isRetiring(v);
}

/** The surge copy alone carries its slot: in service while the serving copy is not. Stopping it takes the slot out of the endpoints. */
export function surgeCarries(v: SlotView): boolean {
  return copyInService(v.surge?.phase) && !copyInService(v.phase);
}

/** The rollout waits for these to finish: a host-drain move (a second copy of the same revision, the reconcile loop's), or a retire. */
function isForeignMove(v: SlotView): boolean {
  return v.surge !== null && (v.surge.revision === v.revision || isRetiring(v));
}

/**
 * Whether the rollout has to touch this slot: it runs another revision, or it was
 * drained and nobody will bring it back (a failed rollout's batch, left for the next
 * one), or it carries a stale surge copy.
 */
function needsWork(v: SlotView, to: number): boolean {
  if (isDone(v, to) || isForeignMove(v) || v.stranded) return false;
  return v.revision !== to || (v.drainingSinceMs !== null && v.surge === null) || hasStaleSurge(v, to);
}

/**
 * What moving this slot costs in availability: 0 when it is out of the endpoints
 * already (replacing it loses nothing), or when only a stale surge copy has to go
 * and the serving copy on `to` stays in service; 1 otherwise.
 */
function cost(v: SlotView, to: number): 0 | 1 {
  if (!inEndpoints(v)) return 0;
  if (v.revision === to && v.phase === "in-service") return 0;
  return 1;
}

function copyBatch(b: RolloutBatch): RolloutBatch {
  return { slots: [...b.slots], startedAtMs: b.startedAtMs, viaSpare: [...b.viaSpare], issued: b.issued.map((i) => ({ ...i })), done: [...b.done] };
}

/**
 * What a status lets a step do:
 *   active   everything (running, reverting)
 *   hold     only finish in-place replacements of drained slots (paused, awaiting-promotion):
 *            a drained copy is capacity lost, a surge copy waiting for its retire is not
 *   unwind   failed: bring drained-but-not-replaced copies back on their own revision
 *   finished nothing (succeeded)
 */
type Mode = "active" | "hold" | "unwind" | "finished";

function modeOf(s: RolloutStatus): Mode {
  switch (s) {
    case "running":
    case "reverting":
      return "active";
    case "paused":
    case "awaiting-promotion":
      return "hold";
    case "failed":
      return "unwind";
    case "succeeded":
      return "finished";
    default:
      return assertNever(s);
  }
}

function wasIssued(b: RolloutBatch, slot: number, kind: Action["kind"]): boolean {
  return b.issued.some((i) => i.slot === slot && i.kind === kind);
}

/** The slot's next action in its batch, or null to wait (for an effect, a timer, or health). */
function stepSlot(v: SlotView, b: RolloutBatch, mode: "active" | "hold", to: number, u: UpdateSpec, nowMs: number, mayTakeOut: boolean): Action | null {
  const slot = v.slot;
  const was = (kind: Action["kind"]): boolean => wasIssued(b, slot, kind);
  const active = mode === "active";
  // A stale surge copy goes first: its spare is needed, and a slot must not end with two revisions.
  if (hasStaleSurge(v, to)) return active && !was("cancel") ? { kind: "cancel", slot } : null;
  if (b.viaSpare.includes(slot)) {
    // After a retire the shell moves the slot once the old copy has drained; it is done when that shows.
    if (was("retire") || v.revision === to) return null;
    if (v.surge !== null && v.surge.revision === to) {
      return active && mayTakeOut && v.surge.phase === "in-service" ? { kind: "retire", slot } : null;
    }
    return active && !was("surge") ? { kind: "surge", slot, revision: to } : null;
  }
  if (was("replace")) return null;
  if (v.drainingSinceMs !== null) {
    // Replacing a drained copy is allowed even on hold: left alone it would stay out of service.
    return nowMs >= v.drainingSinceMs + u.drainTimeMs ? { kind: "replace", slot, revision: to } : null;
  }
  if (v.revision === to) return null; // coming up on its own
  switch (v.phase) {
    case "in-service":
      return active && mayTakeOut && !was("drain") ? { kind: "drain", slot } : null;
    case "draining":
      // A phase without its timestamp is the shell's inconsistency: never cut a drain short.
      return null;
    case "warming":
    case "starting":
    case "unhealthy":
    case "stopped":
    case "pending":
    case "failed":
    case "lost":
      // Out of the endpoints already: nothing to drain, and replacing it costs nothing.
      return active ? { kind: "replace", slot, revision: to } : null;
    default:
      return assertNever(v.phase);
  }
}

/**
 * A failed rollout leaves slots as they are, except what it started and did not finish:
 *  - a copy it drained and did not replace yet: after drainTime that copy is restarted on
 *    the revision it runs, so it comes back into service. The failed revision is not what it ran.
 *  - a surge copy of the failed revision (not retired): cancelled, so it does not linger on
 *    its spare — unless it alone carries its slot (the serving copy fell out meanwhile): then
 *    it is kept as the slot's copy (retired into it), which takes nothing out of the
 *    endpoints. Cancelling it would, and waiting for the serving copy could be for ever: the
 *    planner places a failed copy again only once its slot has no second copy, and an
 *    unhealthy one may stay so. A revert, or the next apply, moves the slot on its budget.
 */
function unwindSlot(v: SlotView, b: RolloutBatch, u: UpdateSpec, nowMs: number, to: number): Action | null {
  if (b.viaSpare.includes(v.slot)) {
    const surged = wasIssued(b, v.slot, "surge") || v.surge?.revision === to;
    if (!surged || wasIssued(b, v.slot, "retire") || wasIssued(b, v.slot, "cancel")) return null;
    return { kind: surgeCarries(v) ? "retire" : "cancel", slot: v.slot };
  }
  if (wasIssued(b, v.slot, "replace") || v.drainingSinceMs === null || v.surge !== null) return null;
  return nowMs >= v.drainingSinceMs + u.drainTimeMs ? { kind: "replace", slot: v.slot, revision: v.revision } : null;
}

/** The batch's healthy deadline: its new copies can start only after the drain, so in-place batches get drainTime on top. */
function healthyDeadlineAt(b: RolloutBatch, u: UpdateSpec): number {
  const drains = b.slots.some((s) => !b.viaSpare.includes(s));
  return b.startedAtMs + u.healthyDeadlineMs + (drains ? u.drainTimeMs : 0);
}

/**
 * Slots on the target revision, outside the current batch, out of service for a reason of
 * their own (unhealthy, failed): a copy of the new revision that was in service and fell
 * out, or a new slot that never got there. Stranded and lost ones wait for a host instead.
 */
export function relapsedSlots(slots: readonly SlotView[], b: RolloutBatch | null, to: number): number[] {
  return slots
    .filter((v) => v.revision === to && v.stranded !== true && !isRetiring(v) && (v.phase === "unhealthy" || v.phase === "failed") && !(b?.slots.includes(v.slot) ?? false))
    .map((v) => v.slot)
    .sort((a, c) => a - c);
}

/**
 * The batch slots whose new copy is not in service: not done (now or before), and
 * (via a spare) no surge copy in service. A surge copy in service has proved the
 * revision; its retire is drain time, not health.
 */
function unhealthySlots(b: RolloutBatch, views: ReadonlyMap<number, SlotView>, to: number): number[] {
  return b.slots.filter((s) => {
    const v = views.get(s);
    if (v === undefined || v.stranded || b.done.includes(s) || isDone(v, to)) return false;
    return !(b.viaSpare.includes(s) && v.surge !== null && v.surge.revision === to && v.surge.phase === "in-service");
  });
}

/** Every slot of the batch has been done (a slot that is gone, scaled down or stranded, counts as done). */
function batchComplete(b: RolloutBatch, views: ReadonlyMap<number, SlotView>): boolean {
  return b.slots.every((s) => b.done.includes(s) || !views.has(s) || views.get(s)!.stranded === true);
}

interface Pick {
  slots: number[];
  viaSpare: number[];
  why: string;
}

/**
 * The next batch. Worked example: 5 instances, maxUnavailable 2, maxSurge 1, one
 * spare host, slot 3 failed on its own, nothing else out.
 *   out    = instances − in endpoints   = 5 − 4 = 1
 *   budget = maxUnavailable − out        = 2 − 1 = 1   (in-place drains allowed)
 *   spares = min(maxSurge − surges, spareHosts) = min(1 − 0, 1) = 1
 * Candidates, cheapest first then by slot: 3 (out already: replaced in place, free),
 * 0 (takes the spare: surge), 1 (takes the budget: drain), 2 (nothing left: next
 * batch). The batch is [3, 0, 1]; afterwards out = 2 = maxUnavailable. Had slot 3
 * not failed, budget would be 2 and the batch [0, 1, 2] with out = 2 as well.
 * A canary (not promoted) caps the batch so no more than `canary` slots run or are
 * headed for `toRevision`.
 */
function pickBatch(slots: readonly SlotView[], u: UpdateSpec, instances: number, spareHosts: number, to: number, canaryActive: boolean): Pick {
  const out = Math.max(0, instances - endpoints(slots).length);
  let budget = u.maxUnavailable - out;
  let spares = Math.min(u.maxSurge - slots.filter((v) => v.surge !== null).length, spareHosts);
  const onTarget = slots.filter((v) => v.revision === to || v.surge?.revision === to).length;
  let room = canaryActive ? u.canary - onTarget : Number.POSITIVE_INFINITY;
  const candidates = slots.filter((v) => needsWork(v, to)).sort((a, b) => cost(a, to) - cost(b, to) || a.slot - b.slot);
  const pick: Pick = { slots: [], viaSpare: [], why: "" };
  for (const v of candidates) {
    if (room <= 0) break;
    if (v.surge !== null && v.surge.revision === to) {
      // It holds its spare already (a superseded rollout's surge): finish it that way.
      pick.viaSpare.push(v.slot);
    } else if (cost(v, to) === 0) {
      // Free: nothing of it is in service that the rollout would take out.
    } else if (spares > 0 && !(hasStaleSurge(v, to) && surgeCarries(v))) {
      // (A stale surge copy is cancelled first, which takes the slot out if that copy carries it: budget, not a spare.)
      spares--;
      pick.viaSpare.push(v.slot);
    } else if (budget > 0) {
      budget--;
    } else {
      continue;
    }
    pick.slots.push(v.slot);
    room--;
  }
  if (pick.slots.length === 0) {
    if (room <= 0) pick.why = `waiting for the canary slots on revision ${to} to come into service`;
    else if (u.maxUnavailable <= out && u.maxSurge > 0 && spareHosts === 0) pick.why = `waiting for a spare host or for out-of-service slots to recover (${out} of ${instances} out, maxUnavailable ${u.maxUnavailable})`;
    else pick.why = `waiting: ${out} of ${instances} out of service already (maxUnavailable ${u.maxUnavailable})`;
  }
  return pick;
}

function describeBatch(p: Pick, views: ReadonlyMap<number, SlotView>, to: number): string {
  const parts = p.slots.map((s) => {
    const v = views.get(s);
    if (p.viaSpare.includes(s)) return `${s} (surge onto a spare)`;
    if (v !== undefined && cost(v, to) === 0) return `${s} (out of service already: replace in place)`;
    return `${s} (drain, then replace)`;
  });
  return `batch: ${parts.join(", ")} → revision ${to}`;
}

/**
 * One step of the rollout. Worked example (the test "4 instances v1 → v2" runs it):
 * 4 instances, maxUnavailable 1, maxSurge 0, drainTime 0.5s, minHealthyTime 1s, and
 * v2 healthy 2s after it starts.
 *
 *   t (s)  this call                                        endpoints   wake at
 *   0      batch [0]: drain 0                                1 2 3       0.5 (drain end)
 *   0.5    replace 0 with v2                                 1 2 3       (agent reports)
 *   2.5    (0 turns healthy: warming)                        1 2 3       3.5 (minHealthyTime)
 *   3.5    0 done: progress; batch [1]: drain 1              0 2 3       4.0
 *   4.0    replace 1 …    7.0 batch [2] …    10.5 batch [3] …
 *   14.0   3 done: every slot on v2 and in service: succeeded
 *
 * Each batch lasts drainTime + start + minHealthyTime = 3.5s, and exactly one slot
 * is out of the endpoints at a time. healthyDeadline for batch [0] falls at
 * 0 + drainTime + healthyDeadline; progressDeadline at lastProgressAtMs + progressDeadline.
 */
export function nextStep(input: NextStepInput): NextStepResult {
  const { update: u, nowMs, instances } = input;
  /** Until when this step takes no copy out of the endpoints; undefined: it may now. */
  const holdUntilMs = input.takeOutFromMs !== undefined && nowMs < input.takeOutFromMs ? input.takeOutFromMs : undefined;
  const mayTakeOut = holdUntilMs === undefined;
  const r: RolloutState = { ...input.rollout, batch: input.rollout.batch ? copyBatch(input.rollout.batch) : null };
  const to = r.toRevision;
  const views = new Map(input.slots.map((v) => [v.slot, v]));
  const actions: Action[] = [];
  const events: RolloutEvent[] = [];
  let revertTo: number | undefined;
  const issue = (b: RolloutBatch, a: Action): void => {
    b.issued.push({ slot: a.slot, kind: a.kind });
    actions.push(a);
    // With drainTime 0 the replace is due the moment the drain is: both go in this step,
    // so they are one commit and one assignment, not a second pass and commit (a store
    // fsync) between the copy leaving the endpoints and its stop (issue 12).
    if (a.kind === "drain" && u.drainTimeMs === 0) {
      b.issued.push({ slot: a.slot, kind: "replace" });
      actions.push({ kind: "replace", slot: a.slot, revision: to });
    }
  };
  let mode = modeOf(r.status);
  if (mode === "finished") return { rollout: r, actions, wakeAtMs: null, events };
  // A first rollout, before it touches anything: whether the revision it leaves works, which
  // decides whether a failure goes back to it. Not while a controller that just started (or
  // just took the lead) waits for its hosts to report (mayTakeOut). Anything but a copy
  // known broken counts as working: "no" takes every copy of it broken.
  if (r.fromWorked === "unknown" && r.batch === null && mayTakeOut) {
    const from = input.slots.filter((v) => v.revision === r.fromRevision);
    const working = from.some((v) => !BROKEN.has(v.phase)) || input.slots.some((v) => v.surge?.revision === r.fromRevision && !BROKEN.has(v.surge.phase));
    r.fromWorked = from.length > 0 && !working ? "no" : "yes";
  }

  if (mode !== "unwind") {
    // 1. Progress: a batch slot newly done moves the progress deadline.
    const b = r.batch;
    if (b !== null) {
      for (const s of b.slots) {
        const v = views.get(s);
        if (v === undefined || b.done.includes(s) || !isDone(v, to)) continue;
        b.done.push(s);
        r.lastProgressAtMs = nowMs;
        const onTo = input.slots.filter((x) => isDone(x, to)).length;
        events.push({ type: "rollout.progress", message: `slot ${s} runs revision ${to} and is in service (${onTo}/${instances})` });
      }
    }
    // 2. Done when every slot runs toRevision in service, whatever the status.
    const stranded = input.slots.filter((v) => v.stranded === true && v.revision === to).length;
    if (input.slots.length >= instances && input.slots.every((v) => isDone(v, to) || (v.stranded === true && v.revision === to)) && (stranded === 0 || stranded < input.slots.length)) {
      r.status = "succeeded";
      // A revert that ended keeps saying what it undid and why: `apply --wait` sends users here.
      r.reason = r.autoReverted ? revertReason(r.fromRevision, r.revertOf) : "";
      r.batch = null;
      r.endedAtMs = nowMs;
      events.push({ type: "rollout.succeeded", message: stranded ? `every placed instance runs revision ${to} and is in service; ${stranded} waiting for a host will start on it` : `every instance runs revision ${to} and is in service` });
      return { rollout: r, actions, wakeAtMs: null, events };
    }
    // 3. Deadlines, only while the rollout may move (a pause or a wait for a human is not a failure).
    // (relapseSinceMs is kept after step 4, with the batch as this step leaves it.)
    const relapsed = mode === "active" ? relapsedSlots(input.slots, r.batch, to) : [];
    if (mode === "active") {
      let failure = "";
      const late = r.batch === null ? [] : unhealthySlots(r.batch, views, to);
      if (r.batch !== null && late.length > 0 && nowMs >= healthyDeadlineAt(r.batch, u)) {
        failure = `${late.length === 1 ? "slot" : "slots"} ${late.join(", ")} not in service on revision ${to} within healthyDeadline (${formatDurationMs(u.healthyDeadlineMs)})`;
      } else if (r.relapseSinceMs !== undefined && relapsed.length > 0 && nowMs >= r.relapseSinceMs + u.healthyDeadlineMs) {
        failure = `${relapsed.length === 1 ? "slot" : "slots"} ${relapsed.join(", ")} on revision ${to} out of service (${relapsed.map((x) => views.get(x)?.phase).join(", ")}) for healthyDeadline (${formatDurationMs(u.healthyDeadlineMs)})`;
      } else if (nowMs >= r.lastProgressAtMs + u.progressDeadlineMs) {
        failure = `no slot came into service on revision ${to} for progressDeadline (${formatDurationMs(u.progressDeadlineMs)})`;
      }
      if (failure !== "") {
        r.status = "failed";
        r.reason = failure;
        r.endedAtMs = nowMs;
        mode = "unwind";
        events.push({ type: "rollout.failed", message: `revision ${r.fromRevision} → ${to} failed: ${failure}` });
        if (u.autoRevert && !r.autoReverted && r.fromWorked === "no") {
          // Going back would only swap one broken revision for another, and say it was good.
          r.reason = `${failure}; not reverted: revision ${r.fromRevision} never had a working instance (every copy of it was broken when this rollout began)`;
          events.push({ type: "rollout.not-reverted", message: `autoRevert: revision ${r.fromRevision} never had a working instance, so revision ${to} stays; fix the spec and apply again` });
        } else if (u.autoRevert && !r.autoReverted) {
          revertTo = r.fromRevision;
          events.push({ type: "rollout.reverting", message: `autoRevert: rolling back to revision ${r.fromRevision}` });
        }
      }
    }
  }

  // A failed rollout also brings back a copy drained in place that no batch holds any more:
  // one an earlier rollout drained and failed before replacing, when this one (its revert)
  // failed before a batch of its own took the slot. It joins the batch so the replace is
  // recorded once. Only rollouts drain without a second copy, so nobody else will.
  if (mode === "unwind") {
    const orphans = input.slots.filter((v) => v.drainingSinceMs !== null && v.surge === null && !(r.batch?.slots.includes(v.slot) ?? false)).map((v) => v.slot);
    if (orphans.length > 0) {
      r.batch ??= { slots: [], startedAtMs: nowMs, viaSpare: [], issued: [], done: [] };
      r.batch.slots.push(...orphans);
    }
  }

  // 4. Step the slots of the current batch.
  const cur = r.batch;
  if (cur !== null) {
    for (const s of cur.slots) {
      const v = views.get(s);
      if (v === undefined || cur.done.includes(s)) continue;
      const a = mode === "unwind" ? unwindSlot(v, cur, u, nowMs, to) : stepSlot(v, cur, mode, to, u, nowMs, mayTakeOut);
      if (a !== null) issue(cur, a);
    }
    if (mode !== "unwind" && batchComplete(cur, views)) r.batch = null;
  }

  // Since when a slot on the new revision outside the batch has been out of service (RolloutState.relapseSinceMs).
  const relapsing = mode === "active" ? relapsedSlots(input.slots, r.batch, to) : [];
  if (relapsing.length === 0) delete r.relapseSinceMs;
  else r.relapseSinceMs ??= nowMs;

  // 5. With no batch in flight: wait for promotion, or start the next batch.
  if (mode === "active" && r.batch === null) {
    const canaryActive = u.canary > 0 && !r.promoted && !r.autoReverted;
    const doneCount = input.slots.filter((v) => isDone(v, to)).length;
    const anyWork = input.slots.some((v) => needsWork(v, to));
    if (canaryActive && doneCount >= u.canary && anyWork) {
      r.status = "awaiting-promotion";
      r.reason = `canary: ${doneCount} of ${instances} run revision ${to} and are in service; waiting for \`berth rollout promote\``;
      events.push({ type: "rollout.awaiting-promotion", message: r.reason });
    } else if (anyWork && r.relapseSinceMs !== undefined) {
      // A copy of the new revision fell out of service: roll it no further until it is back.
      const one = relapsing.length === 1;
      r.reason = `waiting for ${one ? "slot" : "slots"} ${relapsing.join(", ")} on revision ${to} to come back into service (${relapsing.map((x) => views.get(x)?.phase).join(", ")}): no new batch meanwhile; the rollout fails if ${one ? "it does" : "they do"} not within healthyDeadline (${formatDurationMs(u.healthyDeadlineMs)}, until ${new Date(r.relapseSinceMs + u.healthyDeadlineMs).toISOString()})`;
    } else if (anyWork && holdUntilMs !== undefined) {
      r.reason = `waiting for followers of the endpoints to reconnect to this controller (until ${new Date(holdUntilMs).toISOString()})`;
    } else if (anyWork) {
      const p = pickBatch(input.slots, u, instances, input.spareHosts, to, canaryActive);
      if (p.slots.length > 0) {
        const b: RolloutBatch = { slots: p.slots, startedAtMs: nowMs, viaSpare: p.viaSpare, issued: [], done: [] };
        r.batch = b;
        r.reason = "";
        events.push({ type: "rollout.batch", message: describeBatch(p, views, to) });
        for (const s of b.slots) {
          const v = views.get(s);
          const a = v === undefined ? null : stepSlot(v, b, "active", to, u, nowMs, mayTakeOut);
          if (a !== null) issue(b, a);
        }
      } else {
        r.reason = p.why;
      }
    } else {
      r.reason = `waiting for slots on revision ${to} to come into service`;
    }
  }

  let wakeAtMs = wakeAt(r, modeOf(r.status), u, input.slots, actions, nowMs);
  // The hold's end: whatever it held back is due then.
  if (holdUntilMs !== undefined && modeOf(r.status) === "active") wakeAtMs = Math.min(wakeAtMs ?? Number.POSITIVE_INFINITY, holdUntilMs);
  const result: NextStepResult = { rollout: r, actions, wakeAtMs, events };
  if (revertTo !== undefined) result.revertTo = revertTo;
  return result;
}

/**
 * The earliest stored deadline or timer after now; earlier ones have been acted on in
 * this call. The views are from before this call's actions, so the drains it issues
 * are not in them: their ends count too. A retire with drainTime 0 ends now — the
 * shell runs again at once, rather than on whatever tick or heartbeat comes next; an
 * in-place drain with drainTime 0 has its replace issued with it (nextStep's issue).
 */
function wakeAt(r: RolloutState, mode: Mode, u: UpdateSpec, slots: readonly SlotView[], issued: readonly Action[], nowMs: number): number | null {
  if (mode === "finished") return null;
  // A drain replaced in the same step (drainTime 0) leaves nothing to wait for.
  const replaced = new Set(issued.filter((a) => a.kind === "replace").map((a) => a.slot));
  const due = issued.filter((a) => (a.kind === "drain" && !replaced.has(a.slot)) || a.kind === "retire").map(() => nowMs + u.drainTimeMs);
  const times: number[] = [];
  for (const v of slots) {
    // Drain ends: an in-place replacement, a retire the shell finishes, or a failed rollout's unwind.
    if (v.drainingSinceMs !== null) times.push(v.drainingSinceMs + u.drainTimeMs);
    if (mode === "unwind") continue;
    // minHealthyTime reached: the shell re-derives the phase, and the slot may be done or retired.
    if (v.phase === "warming" && v.healthySinceMs !== null) times.push(v.healthySinceMs + u.minHealthyTimeMs);
    if (v.surge?.phase === "warming" && v.surge.healthySinceMs !== null) times.push(v.surge.healthySinceMs + u.minHealthyTimeMs);
  }
  if (mode === "active") {
    if (r.batch !== null) times.push(healthyDeadlineAt(r.batch, u));
    if (r.relapseSinceMs !== undefined) times.push(r.relapseSinceMs + u.healthyDeadlineMs);
    times.push(r.lastProgressAtMs + u.progressDeadlineMs);
  }
  const next = [...times.filter((t) => t > nowMs), ...due];
  return next.length === 0 ? null : Math.min(...next);
}
