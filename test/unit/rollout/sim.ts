/**
 * A tiny shell for `nextStep`: it keeps copies per slot, applies the actions the way
 * the controller would, and moves a simulated clock from event to event (copies
 * turning healthy, drains ending, failures, the core's wakeAtMs). No real timers.
 *
 * What it models:
 * - drain, retire and cancel are the controller's own record writes: visible at once.
 * - replace and surge need the agent: they become visible `agentLagMs` later, so the
 *   core is called meanwhile with views that do not show them yet.
 * - each started copy turns healthy after startDelayMs(revision, slot), or never
 *   (then it reports unhealthy 1s after it started).
 * - failures: a serving copy fails on its own; the failover brings the slot back
 *   (on its record's revision) after downForMs, unless the rollout replaced it first.
 * - an automatic revert is started as the shell would, from `revertTo`.
 *
 * After every state change it samples how many slots are in the endpoints, and
 * whenever a rollout action takes a slot out of them it records how many were out
 * right after. Every call of nextStep is made twice: the second call, with the
 * returned state and the same views, must issue nothing and change nothing.
 */
import { isDeepStrictEqual } from "node:util";
import type { UpdateSpec } from "../../../shared/spec/types.js";
import { copyPhase } from "../../../controller/rollout/phase.js";
import { assertNever } from "../../../controller/scheduler/assert-never.js";
import {
  endpoints,
  nextStep,
  pause,
  promote,
  resume,
  startRollout,
  type Action,
  type NextStepResult,
  type RolloutEvent,
  type RolloutState,
  type SlotView,
} from "../../../controller/rollout/next-step.js";

export type StartDelay = (revision: number, slot: number) => number | "never";

export interface SimOptions {
  instances: number;
  update: UpdateSpec;
  /** Spare hosts at the start. */
  spares: number;
  from: number;
  to: number;
  startDelayMs: StartDelay;
  /** replace and surge become visible this long after they are issued. @default 0 */
  agentLagMs?: number;
  /**
   * Serving copies falling out on their own at atMs. A crash (default): failed, and the
   * failover restarts the slot downForMs later, once it has no second copy (as the planner
   * places a failed copy again only then). `transient`: the same copy unhealthy for downForMs
   * (a health check failing for a while), then healthy again, second copy or not.
   */
  failures?: { atMs: number; slot: number; downForMs: number; transient?: boolean }[];
  pauses?: { atMs: number; resumeAtMs: number }[];
  /** An operator promotes a waiting canary this long after it starts waiting; undefined: only by calling promote(). */
  promoteAfterMs?: number;
  /** The `from` copies never got healthy (a service created broken). @default false */
  fromBroken?: boolean;
  /** The service's first rollout (startRollout's `first`). @default false */
  first?: boolean;
}

/** A never-healthy copy reports unhealthy this long after it starts. */
const UNHEALTHY_AFTER_MS = 1000;

interface Copy {
  id: number;
  revision: number;
  state: "starting" | "healthy" | "unhealthy" | "failed";
  startedAtMs: number;
  /** When it turns healthy; null: never. */
  healthyAtMs: number | null;
  healthySinceMs: number | null;
  drainingSinceMs: number | null;
}

interface SimSlot {
  slot: number;
  /** The revision the instance record says (what a failover restarts). */
  record: number;
  serving: Copy;
  surge: Copy | null;
  /** A surge or replace the agent has not acted on yet. */
  pendingSurge: { atMs: number; revision: number } | null;
  pendingReplace: { atMs: number; revision: number; issuedAtMs: number } | null;
  /** A retire in progress: the old copy drains until then. */
  retireAtMs: number | null;
}

export interface Issued {
  t: number;
  to: number;
  action: Action;
}

export interface Sample {
  t: number;
  inService: number;
  status: RolloutState["status"];
}

export class IdempotenceError extends Error {
  override readonly name = "IdempotenceError";
}

export class Sim {
  now = 0;
  rollout: RolloutState;
  /** Every rollout this sim ran, the current one last. */
  readonly rollouts: RolloutState[] = [];
  readonly issued: Issued[] = [];
  readonly events: (RolloutEvent & { t: number })[] = [];
  readonly samples: Sample[] = [];
  /** Out of the endpoints right after a rollout action took a slot out (drain, retire, cancel). */
  readonly outAfterRolloutRemoval: number[] = [];
  spares: number;
  maxSurgeCopies = 0;
  passes = 0;
  lastResult: NextStepResult | null = null;
  private readonly slots: SimSlot[];
  private nextId = 1;
  private readonly failures: { atMs: number; slot: number; downForMs: number; transient?: boolean; copyId: number }[];
  private readonly pauses: { atMs: number; resumeAtMs: number; done: 0 | 1 | 2 }[];
  private promoteAtMs: number | null = null;

  constructor(readonly o: SimOptions) {
    this.spares = o.spares;
    this.slots = Array.from({ length: o.instances }, (_, slot) => ({
      slot,
      record: o.from,
      // Serving long enough to be in service at t = 0.
      serving: o.fromBroken
        ? { id: this.nextId++, revision: o.from, state: "unhealthy", startedAtMs: -600_000, healthyAtMs: null, healthySinceMs: null, drainingSinceMs: null }
        : { id: this.nextId++, revision: o.from, state: "healthy", startedAtMs: -600_000, healthyAtMs: -600_000, healthySinceMs: -600_000, drainingSinceMs: null },
      surge: null,
      pendingSurge: null,
      pendingReplace: null,
      retireAtMs: null,
    }));
    this.failures = (o.failures ?? []).map((f) => ({ ...f, copyId: 0 }));
    this.pauses = (o.pauses ?? []).map((p) => ({ ...p, done: 0 }));
    this.rollout = startRollout("web", o.from, o.to, 0, { first: o.first ?? false });
    this.rollouts.push(this.rollout);
    this.sample();
  }

  get u(): UpdateSpec {
    return this.o.update;
  }

  views(): SlotView[] {
    const phase = (c: Copy): SlotView["phase"] => copyPhase({ state: c.state, healthySinceMs: c.healthySinceMs, drainingSinceMs: c.drainingSinceMs }, this.u.minHealthyTimeMs, this.now);
    return this.slots.map((s) => ({
      slot: s.slot,
      revision: s.serving.revision,
      phase: phase(s.serving),
      healthySinceMs: s.serving.healthySinceMs,
      drainingSinceMs: s.serving.drainingSinceMs,
      surge: s.surge === null ? null : { revision: s.surge.revision, phase: phase(s.surge), healthySinceMs: s.surge.healthySinceMs },
    }));
  }

  inService(): number {
    return endpoints(this.views()).length;
  }

  /** The revisions the slots' serving copies run. */
  revisions(): number[] {
    return this.slots.map((s) => s.serving.revision);
  }

  terminal(): boolean {
    return this.rollout.status === "succeeded" || this.rollout.status === "failed";
  }

  promoteNow(): void {
    this.setRollout(promote(this.rollout, this.now));
  }

  /**
   * Calls nextStep until it has nothing more to do at this moment (the shell passes
   * again after every commit), applying actions and starting reverts.
   */
  settle(): NextStepResult {
    for (let i = 0; i < 20; i++) {
      const res = this.pass();
      if (res.actions.length === 0 && res.revertTo === undefined) return res;
    }
    throw new Error(`nextStep keeps issuing actions at t=${this.now}`);
  }

  /**
   * Runs until the rollout ended and nothing timed is left, or it stalls (nothing
   * left to wait for: a paused or waiting-for-promotion rollout), or the step limit;
   * with untilMs, stops before the first event after it (the calls at untilMs made).
   */
  run(o: { untilMs?: number; maxIterations?: number } = {}): { iterations: number; stalled: boolean } {
    const maxIterations = o.maxIterations ?? 5000;
    for (let i = 0; i < maxIterations; i++) {
      const res = this.settle();
      const t = this.nextEventTime(res.wakeAtMs);
      if (t === null) return { iterations: i + 1, stalled: !this.terminal() };
      if (o.untilMs !== undefined && t > o.untilMs) return { iterations: i + 1, stalled: false };
      this.advanceTo(t);
    }
    throw new Error(`no end after ${maxIterations} iterations (t=${this.now}, status ${this.rollout.status})`);
  }

  /** Moves the clock to t (≥ now), processing what happens on the way, without calling nextStep in between. */
  advanceTo(t: number): void {
    if (t < this.now) throw new Error(`time runs backwards: ${t} < ${this.now}`);
    this.now = t;
    for (const s of this.slots) {
      for (const c of [s.serving, s.surge]) {
        if (c === null || c.state !== "starting") continue;
        if (c.healthyAtMs !== null && c.healthyAtMs <= t) {
          c.state = "healthy";
          c.healthySinceMs = c.healthyAtMs;
          this.sample();
        } else if (c.healthyAtMs === null && c.startedAtMs + UNHEALTHY_AFTER_MS <= t) {
          c.state = "unhealthy";
          this.sample();
        }
      }
      this.land(s, t);
      if (s.retireAtMs !== null && s.retireAtMs <= t && s.surge !== null) {
        // The old copy has drained: it stops, its host becomes a spare, the slot moves.
        s.serving = s.surge;
        s.record = s.surge.revision;
        s.surge = null;
        s.retireAtMs = null;
        this.spares++;
        this.sample();
      }
    }
    for (const f of this.failures) {
      const s = this.slots[f.slot];
      if (s === undefined) continue;
      if (f.copyId === 0 && f.atMs <= t) {
        f.copyId = s.serving.id;
        s.serving.state = f.transient ? "unhealthy" : "failed";
        s.serving.healthySinceMs = null;
        s.serving.healthyAtMs = null;
        this.sample();
      }
      if (f.transient) {
        // Not a copy being replaced: the controller's record names the new copy already, and the agent stops this one.
        if (f.copyId > 0 && f.atMs + f.downForMs <= t && s.serving.id === f.copyId && s.serving.state === "unhealthy" && s.pendingReplace === null) {
          s.serving.state = "healthy";
          s.serving.healthyAtMs = f.atMs + f.downForMs;
          s.serving.healthySinceMs = f.atMs + f.downForMs;
          this.sample();
        }
        continue;
      }
      if (f.copyId > 0 && f.atMs + f.downForMs <= t && s.serving.id === f.copyId && s.surge === null && s.pendingSurge === null) {
        // The failover restarts the slot on its record's revision; not while it has a second copy
        // (the planner places a failed copy again only once its slot has no moveTo).
        s.serving = this.copy(s.record, s.slot, f.atMs + f.downForMs);
        this.sample();
      }
    }
    for (const p of this.pauses) {
      if (p.done === 0 && p.atMs <= t) {
        p.done = 1;
        this.setRollout(pause(this.rollout));
      }
      if (p.done === 1 && p.resumeAtMs <= t) {
        p.done = 2;
        this.setRollout(resume(this.rollout, t));
      }
    }
    if (this.promoteAtMs !== null && this.promoteAtMs <= t) {
      this.promoteAtMs = null;
      this.setRollout(promote(this.rollout, t));
    }
  }

  /** The agent acts on a replace or surge issued agentLagMs before t. */
  private land(s: SimSlot, t: number): void {
    if (s.pendingReplace !== null && s.pendingReplace.atMs <= t) {
      const p = s.pendingReplace;
      s.pendingReplace = null;
      // A failover that restarted the slot on this revision after the replace was issued did the job already.
      if (!(s.serving.revision === p.revision && s.serving.startedAtMs >= p.issuedAtMs)) s.serving = this.copy(p.revision, s.slot, p.atMs);
      this.sample();
    }
    if (s.pendingSurge !== null && s.pendingSurge.atMs <= t) {
      s.surge = this.copy(s.pendingSurge.revision, s.slot, s.pendingSurge.atMs);
      s.pendingSurge = null;
      this.sample();
    }
  }

  private pass(): NextStepResult {
    this.passes++;
    const input = { rollout: this.rollout, update: this.u, instances: this.o.instances, slots: this.views(), spareHosts: this.spares, nowMs: this.now };
    const res = nextStep(input);
    const again = nextStep({ ...input, rollout: res.rollout });
    if (again.actions.length > 0 || again.events.length > 0 || again.revertTo !== undefined || !isDeepStrictEqual(again.rollout, res.rollout)) {
      throw new IdempotenceError(`t=${this.now}: a repeated call changed something: ${JSON.stringify({ first: res, again })}`);
    }
    this.lastResult = res;
    for (const e of res.events) this.events.push({ ...e, t: this.now });
    this.setRollout(res.rollout);
    for (const a of res.actions) this.apply(a);
    if (res.revertTo !== undefined) this.setRollout(startRollout("web", res.rollout.toRevision, res.revertTo, this.now, { autoReverted: true, because: res.rollout.reason }), true);
    if (this.rollout.status === "awaiting-promotion" && this.o.promoteAfterMs !== undefined && this.promoteAtMs === null) this.promoteAtMs = this.now + this.o.promoteAfterMs;
    return res;
  }

  private setRollout(r: RolloutState, fresh = false): void {
    this.rollout = r;
    if (fresh) this.rollouts.push(r);
    else this.rollouts[this.rollouts.length - 1] = r;
  }

  private apply(a: Action): void {
    this.issued.push({ t: this.now, to: this.rollout.toRevision, action: a });
    const s = this.slots[a.slot];
    if (s === undefined) throw new Error(`action for unknown slot ${a.slot}`);
    const before = new Set(endpoints(this.views()));
    const lag = this.o.agentLagMs ?? 0;
    switch (a.kind) {
      case "drain":
        s.serving.drainingSinceMs ??= this.now;
        break;
      case "replace":
        s.record = a.revision;
        s.pendingReplace = { atMs: this.now + lag, revision: a.revision, issuedAtMs: this.now };
        break;
      case "surge":
        // No spare, no surge copy: the shell cannot place it (the core's healthyDeadline catches that).
        if (this.spares > 0 && s.surge === null && s.pendingSurge === null) {
          this.spares--;
          s.pendingSurge = { atMs: this.now + lag, revision: a.revision };
        }
        break;
      case "retire":
        if (s.surge !== null) {
          s.serving.drainingSinceMs ??= this.now;
          s.retireAtMs = this.now + this.u.drainTimeMs;
        }
        break;
      case "cancel":
        if (s.surge !== null || s.pendingSurge !== null) {
          s.surge = null;
          s.pendingSurge = null;
          this.spares++;
        }
        break;
      default:
        assertNever(a);
    }
    this.maxSurgeCopies = Math.max(this.maxSurgeCopies, this.slots.filter((x) => x.surge !== null || x.pendingSurge !== null).length);
    // Lag 0: what the agent does shows at once (and only that: other events at this moment come after).
    if (lag === 0) this.land(s, this.now);
    const after = new Set(endpoints(this.views()));
    if ([...before].some((x) => !after.has(x))) this.outAfterRolloutRemoval.push(this.o.instances - after.size);
    this.sample();
  }

  private copy(revision: number, slot: number, atMs: number): Copy {
    const d = this.o.startDelayMs(revision, slot);
    const healthyAtMs = d === "never" ? null : atMs + d;
    const c: Copy = { id: this.nextId++, revision, state: "starting", startedAtMs: atMs, healthyAtMs, healthySinceMs: null, drainingSinceMs: null };
    if (healthyAtMs !== null && healthyAtMs <= this.now) {
      c.state = "healthy";
      c.healthySinceMs = healthyAtMs;
    }
    return c;
  }

  /** The next moment something changes: the sim's own events or the core's wake-up. */
  private nextEventTime(wakeAtMs: number | null): number | null {
    const ts: number[] = [];
    if (wakeAtMs !== null) ts.push(wakeAtMs);
    const live = !this.terminal();
    for (const s of this.slots) {
      for (const c of [s.serving, s.surge]) {
        if (c === null || c.state !== "starting") continue;
        ts.push(c.healthyAtMs ?? c.startedAtMs + UNHEALTHY_AFTER_MS);
      }
      if (s.pendingReplace) ts.push(s.pendingReplace.atMs);
      if (s.pendingSurge) ts.push(s.pendingSurge.atMs);
      if (s.retireAtMs !== null) ts.push(s.retireAtMs);
      // The in-service flip after minHealthyTime: the endpoints change then, sample it.
      for (const c of [s.serving, s.surge]) if (c?.state === "healthy" && c.healthySinceMs !== null) ts.push(c.healthySinceMs + this.u.minHealthyTimeMs);
    }
    // Failures, pauses and promotion only matter while the rollout lives. They may
    // fall due at the current moment (at 0, or a promotion after 0 ms): then now.
    const due: number[] = [];
    if (live) {
      for (const f of this.failures) {
        const s = this.slots[f.slot];
        if (f.copyId === 0) due.push(f.atMs);
        else if (s?.serving.id !== f.copyId) continue;
        else if (f.transient ? s.serving.state === "unhealthy" && s.pendingReplace === null : s.surge === null && s.pendingSurge === null) due.push(f.atMs + f.downForMs);
      }
      for (const p of this.pauses) if (p.done < 2) due.push(p.done === 0 ? p.atMs : p.resumeAtMs);
      if (this.promoteAtMs !== null) due.push(this.promoteAtMs);
    }
    if (due.some((t) => t <= this.now)) return this.now;
    ts.push(...due);
    const future = ts.filter((t) => t > this.now);
    return future.length === 0 ? null : Math.min(...future);
  }

  private sample(): void {
    this.samples.push({ t: this.now, inService: this.inService(), status: this.rollout.status });
  }
}

/** UpdateSpec with the worked example's numbers unless overridden. */
export function update(o: Partial<UpdateSpec> = {}): UpdateSpec {
  return {
    maxUnavailable: 1,
    maxSurge: 0,
    minHealthyTimeMs: 1000,
    healthyDeadlineMs: 10_000,
    progressDeadlineMs: 60_000,
    canary: 0,
    autoRevert: true,
    drainTimeMs: 500,
    ...o,
  };
}

export function minInService(sim: Sim): number {
  return Math.min(...sim.samples.map((s) => s.inService));
}
