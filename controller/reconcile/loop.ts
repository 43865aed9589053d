/**
 * The reconcile loop (STYLE.md: Kubernetes' workqueue, reduced to one key —
 * the fleet — since one pass over all services is cheap at our scale): anything
 * that may change the desired or actual state calls kick(); passes never overlap,
 * kicks during a pass cause one more pass, and a periodic tick re-derives
 * everything anyway (level-triggered: a lost kick costs at most one tick).
 */
import { monoMs } from "../../shared/clock.js";
import type { Store } from "../store/store.js";
import type { Logger } from "../../shared/log/logger.js";
import { Coalescer, type Pacing } from "../../shared/coalesce.js";
import type { HostRegistry } from "../hosts/registry.js";
import type { HostRecord } from "../hosts/host.js";
import type { NewEvent } from "../events/event-log.js";
import type { ServiceState } from "../services/state.js";
import { instanceId, type InstanceRecord, type ObservedInstance, type ServiceRecord } from "../services/records.js";
import type { InstanceWait, Waits } from "./waits.js";
import type { RolloutState } from "../rollout/next-step.js";
import { formatDurationMs } from "../../shared/duration.js";
import { due as isDue, errorMessage, failed, quarantined, type UnitError } from "./unit-errors.js";
import { driveRollouts } from "../rollout/drive.js";
import { FOLLOWER_GRACE_MS } from "../rollout/next-step.js";
import { lastGood } from "../services/apply.js";
import { reconcile, type FailoverInput, type HostView } from "./planner.js";
import { setTimeoutClamped } from "../../shared/timer.js";

const MiB = 1024 * 1024;

/** What a pass (or one unit of it) decided. */
interface Decision {
  puts: Map<string, InstanceRecord>;
  deletes: { service: string; slot: number }[];
  putRollouts: RolloutState[];
  putServices: ServiceRecord[];
  events: NewEvent[];
  unplaced: Map<string, string>;
  held: Map<string, string>;
  /** Held waiting out a reschedule's backoff (also in held). */
  backoff: Set<string>;
  stuck: Set<string>;
  /** Hosts whose drain is done, judged on `after`. */
  drained: string[];
  wakeAtMs: number;
  /** Every instance record as these decisions leave them. */
  after: InstanceRecord[];
}

/** `b`, decided on the records `a` left, after `a`: units of distinct services touch distinct records. */
function merge(a: Decision, b: Decision): Decision {
  return {
    puts: new Map([...a.puts, ...b.puts]),
    deletes: [...a.deletes, ...b.deletes],
    putRollouts: [...a.putRollouts, ...b.putRollouts],
    putServices: [...a.putServices, ...b.putServices],
    events: [...a.events, ...b.events],
    unplaced: new Map([...a.unplaced, ...b.unplaced]),
    held: new Map([...a.held, ...b.held]),
    backoff: new Set([...a.backoff, ...b.backoff]),
    stuck: new Set([...a.stuck, ...b.stuck]),
    drained: b.drained,
    wakeAtMs: Math.min(a.wakeAtMs, b.wakeAtMs),
    after: b.after,
  };
}
/** Safety-net period of the level-triggered loop. @default 1000 */
export const RECONCILE_TICK_MS = 1000;
/**
 * A pass covers every host; hellos, instance reports and health changes kick it, so a
 * fleet joining or reconnecting would run passes back to back and starve its own joins
 * (shared/coalesce.ts Pacing). At most a quarter of the time, a kick held back ≤ 250 ms.
 */
export const RECONCILE_PACING = { maxShare: 0.25, maxDelayMs: 250 } as const;

/** Instance states a rollout gates on: health (a batch moves on, a deadline counts) and failure. */
const GATING_STATES: ReadonlySet<string> = new Set(["healthy", "unhealthy", "failed"]);

/**
 * Whether an agent's report skips the loop's pacing (RECONCILE_PACING): it is a live
 * change (the same host reported before, in another state or epoch) into a state a
 * rollout that has not ended gates on. Pacing spreads the passes that floods of
 * reports kick (a fleet reconnecting re-sends every state: `prev` is then unknown or
 * the same); held back behind it, a copy's turn to healthy waited up to 3× the last
 * pass's time before the next batch started — per step, on a loaded machine (issue 12).
 * At most a few such reports per batch slot, so a rollout cannot flood the loop.
 */
export function urgentReport(prev: ObservedInstance | undefined, next: ObservedInstance, rollout: Pick<RolloutState, "endedAtMs"> | undefined): boolean {
  if (rollout === undefined || rollout.endedAtMs !== undefined) return false;
  if (prev === undefined || (prev.state === next.state && prev.epoch === next.epoch && prev.instance === next.instance)) return false;
  return GATING_STATES.has(next.state);
}

export class ReconcileLoop implements Waits {
  /** instance id → why it is pending, from the last pass */
  unplaced = new Map<string, string>();
  /** instance id → why a lost instance is not replaced (yet) */
  held = new Map<string, string>();
  /** Instances asked to leave their host that no host can take, from the last pass (also in held). */
  stuck = new Set<string>();
  /** Instances waiting out a reschedule's backoff, from the last pass (also in held). */
  backoff = new Set<string>();

  /** Why the last pass left an instance where it is (waiting for a host, or held), as status and rollout status say it. */
  wait(rec: Pick<InstanceRecord, "service" | "slot">): InstanceWait | undefined {
    const id = instanceId(rec.service, rec.slot);
    const u = this.unplaced.get(id);
    if (u !== undefined) return { kind: "unplaced", reason: u, stuck: false };
    const h = this.held.get(id);
    if (h === undefined) return undefined;
    return { kind: this.backoff.has(id) ? "backoff" : "held", reason: h, stuck: this.stuck.has(id) };
  }

  error(service: string): UnitError | undefined {
    return this.errors.get(service);
  }

  /** Whether this member's loop runs passes (it leads) and one has committed: otherwise what it holds of waits and errors is not this term's word. */
  get leading(): boolean {
    return this.runner !== undefined && this.decidedInTerm;
  }

  /** The store this term's writes go through (the leader's guarded store in a group); undefined while not leading. */
  get termStore(): Store | undefined {
    return this.leading ? this.via : undefined;
  }
  /** A pass of this term has committed: until then, what the loop holds of waits is not this term's word (the group's stored word stands). */
  private decidedInTerm = false;
  /** service name → why its unit failed, since when, and when it is tried again (unit-errors.ts) */
  errors = new Map<string, UnitError>();
  private wake: NodeJS.Timeout | undefined;
  /** host id → what the host reports running */
  readonly observed = new Map<string, ObservedInstance>();
  private timer: NodeJS.Timeout | undefined;
  /** Set while the loop runs (start → stop): on a member that does not lead, kicks do nothing. */
  private runner: Coalescer | undefined;
  private readonly passListeners = new Set<() => void>();

  private readonly commitListeners = new Set<(events: readonly NewEvent[]) => void>();

  /** Called with the events of every committed pass (metrics count them). Returns the unsubscribe. */
  onCommitted(fn: (events: readonly NewEvent[]) => void): () => void {
    this.commitListeners.add(fn);
    return () => void this.commitListeners.delete(fn);
  }

  /** Called after every pass (endpoint followers recompute then). Returns the unsubscribe. */
  onPass(fn: () => void): () => void {
    this.passListeners.add(fn);
    return () => void this.passListeners.delete(fn);
  }

  /**
   * Tells the pass listeners that the records or the observed states changed, as a
   * pass would: a member that does not lead runs no pass, yet its `endpoints -w` and
   * `rollout status -w` must follow what the leader decides.
   */
  notifyViews(): void {
    for (const fn of this.passListeners) fn();
  }

  constructor(
    private readonly d: {
      state: ServiceState;
      registry: HostRegistry;
      log: Logger;
      now: () => number;
      /** Heartbeat ages are measured on it. @default monoMs */
      mono?: () => number;
      failover: () => FailoverInput;
      /** Hosts removed by `berth host remove`: their instances are replaced at once. @default none */
      removedHosts?: () => ReadonlySet<string>;
      /** How kicked passes are spread out. @default RECONCILE_PACING */
      pacing?: Pacing;
      /**
       * How long after the loop starts (a term's start) rollouts take no copy out of the
       * endpoints, so followers that lost the previous controller are back first
       * (rollout/next-step.ts FOLLOWER_GRACE_MS). @default FOLLOWER_GRACE_MS
       */
      followerGraceMs?: number;
    },
  ) {}

  /** The store this term's decisions are written through (the leader's guarded store in a group). */
  private via: Store | undefined;
  /** When rollouts may take copies out of the endpoints again in this term (start + followerGraceMs). */
  private takeOutFromMs: number | undefined;

  /**
   * Starts deciding (this member leads); a loop stopped may be started again, for a
   * new term. `via`: the store its writes go through (leader/leadership.ts TermContext).
   */
  start(via?: Store): void {
    if (this.runner) return;
    this.via = via;
    // Until this term's first pass, what the last term left is not read (leading is false).
    this.decidedInTerm = false;
    this.takeOutFromMs = this.d.now() + (this.d.followerGraceMs ?? FOLLOWER_GRACE_MS);
    this.runner = new Coalescer(
      () => this.pass(),
      (err) => this.d.log.error({ err }, "reconcile pass failed"),
      this.d.pacing ?? RECONCILE_PACING,
    );
    this.timer = setInterval(() => this.kick(), RECONCILE_TICK_MS);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.decidedInTerm = false;
    clearInterval(this.timer);
    clearTimeout(this.wake);
    const r = this.runner;
    this.runner = undefined;
    await r?.close();
  }

  kick(): void {
    this.runner?.kick();
  }

  /** A pass now, not paced: work someone knows to be due (a host just declared down). */
  kickNow(): void {
    this.runner?.kickNow();
  }

  /**
   * A host reported its instance (agent-stream/instance-status.ts, after `observed` is
   * set): a pass, paced as any kick, or at once when the report is one a rollout in
   * progress waits for (urgentReport).
   */
  reported(prev: ObservedInstance | undefined, next: ObservedInstance): void {
    if (urgentReport(prev, next, this.d.state.rollout(next.service))) this.runner?.kickNow();
    else this.kick();
  }

  /**
   * Whether a host turning ready may change what the last pass decided: it left an
   * instance waiting for a host (unplaced, or held), or a rollout is under way (a surge
   * wants a spare). Otherwise a new ready host is only a spare, taken in by the next
   * tick (RECONCILE_TICK_MS) — which also covers what this misses (a drain waiting for
   * a spare, spread), at most a tick later.
   */
  waitsForHosts(): boolean {
    return this.unplaced.size > 0 || this.held.size > 0 || this.d.state.allRollouts().some((r) => r.endedAtMs === undefined);
  }

  /** Resolves when no pass runs or is queued, without asking for one (tests: what the loop does by itself). */
  async idle(): Promise<void> {
    await this.runner?.settled();
  }

  /** Resolves after a pass that started after this call has finished (at once on a loop not running). */
  async settle(): Promise<void> {
    const r = this.runner;
    if (!r) return;
    // Someone waits for this pass: not paced. A pass running now is followed by one more.
    r.kickNow();
    await r.settled();
  }

  /**
   * `wallMinusMono`: now on the wall clock less now on the monotonic one, read once
   * per pass by hostViews (two clock reads per host were a third of a pass's host
   * views with 1,000 hosts). @default read now
   */
  hostView(rec: HostRecord, wallMinusMono = this.d.now() - (this.d.mono ?? monoMs)()): HostView {
    const live = this.d.registry.live.get(rec.id);
    const f = rec.facts;
    const u = live?.usage;
    const rootFree = f?.filesystems.find((x) => x.mount === "/");
    const freeBytes = u && u.disk_total_bytes ? u.disk_total_bytes - u.disk_used_bytes : rootFree ? rootFree.size_bytes - rootFree.used_bytes : 0;
    // Free disk is measured with the host's own instance on it: add back what that
    // instance asked for, or its own files would one day evict it from its host.
    const own = this.d.state.hostAssignments().get(rec.id);
    const ownDiskMb = own ? (this.d.state.service(own.inst.service)?.spec.resources.diskMb ?? 0) : 0;
    return {
      rec,
      capacity: { cpu: f?.cpu_cores ?? 0, memoryMb: Math.floor((f?.memory_total_bytes ?? 0) / MiB), diskMb: Math.floor(freeBytes / MiB) + ownDiskMb },
      artifacts: live?.artifacts ?? [],
      // As a wall time, measured back from now on the monotonic clock: the planner compares
      // it with its wall `nowMs`, and an NTP step between the heartbeat and now must not
      // shorten the fencing wait (replaceableAtMs).
      lastHeartbeatMs: live?.lastHeartbeatMono === undefined ? undefined : wallMinusMono + live.lastHeartbeatMono,
    };
  }

  /**
   * One pass: every service due for work is a unit (STYLE.md: a workqueue key).
   * Normally all due units are decided together — one scheduler call, the cheap
   * common case — which is the same as running them one after another. When that
   * throws, each unit runs alone, so the exception is pinned on its service: that
   * service backs off (unit-errors.ts) and the others' decisions are committed.
   * A service with a quarantined record is no unit at all: its instances are left
   * as they are until the record is replaced.
   */
  private async pass(): Promise<void> {
    const { state } = this.d;
    const nowMs = this.d.now();
    const readVersion = state.version;
    const instances = state.allInstances();
    const hosts = this.hostViews();
    const names = [...new Set([...state.allServices().map((s) => s.name), ...instances.map((i) => i.service), ...state.unreadableServices()])].sort();
    const errors = new Map<string, UnitError>();
    const notes: NewEvent[] = [];
    const due: string[] = [];
    for (const name of names) {
      const prev = this.errors.get(name);
      const why = state.quarantinedReason(name);
      if (why !== undefined) {
        const e = quarantined(prev, why, nowMs);
        errors.set(name, e);
        if (e !== prev) notes.push({ type: "service.reconcile-failed", service: name, message: `${name} is left as it is: ${why}; apply its spec again to replace the record` });
      } else if (isDue(prev, nowMs)) due.push(name);
      else if (prev) errors.set(name, prev);
    }
    const failures = new Map<string, string>();
    let d: Decision;
    try {
      d = this.decide(due.length === names.length ? undefined : new Set(due), instances, hosts, nowMs);
    } catch {
      d = this.decide(new Set(), instances, hosts, nowMs);
      for (const name of due) {
        try {
          d = merge(d, this.decide(new Set([name]), d.after, hosts, nowMs));
        } catch (err) {
          failures.set(name, errorMessage(err));
        }
      }
    }
    for (const name of due) {
      const prev = this.errors.get(name);
      const msg = failures.get(name);
      if (msg !== undefined) {
        const e = failed(prev, msg, nowMs);
        errors.set(name, e);
        notes.push({ type: "service.reconcile-failed", service: name, message: `reconciling ${name} failed (${e.attempts} in a row; next try in ${formatDurationMs((e.retryAtMs ?? nowMs) - nowMs)}): ${msg}` });
      } else if (prev) notes.push({ type: "service.reconcile-recovered", service: name, message: `${name} reconciles again after ${prev.attempts} failure(s)` });
    }
    const events = [...d.events, ...notes];
    // Timers no event announces (a fencing wait, a drain's end, minHealthyTime, deadlines, a retry): wake up for them.
    clearTimeout(this.wake);
    const retryAt = Math.min(...[...errors.values()].map((e) => e.retryAtMs ?? Number.POSITIVE_INFINITY));
    const wakeAt = Math.min(d.wakeAtMs ?? Number.POSITIVE_INFINITY, retryAt);
    // Due already: this pass's own decisions made the next step due now (a retire with
    // drainTime 0 ends at once). Then the pass runs again right after committing
    // (below), not on whatever tick or heartbeat comes next — ~1 s per step.
    const dueNow = wakeAt <= nowMs;
    if (Number.isFinite(wakeAt) && !dueNow) {
      // Clamped: a deadline past Node's timer range (a stored 30d) would otherwise fire at once, every pass.
      // Not paced: a deadline or timer that falls due is a step to take now, not one more
      // kick to spread out (the pacing is for fleet-wide floods of reports).
      this.wake = setTimeoutClamped(() => this.runner?.kickNow(), wakeAt - this.d.now() + 1);
      this.wake.unref();
    }
    if (d.puts.size || d.deletes.length || d.putRollouts.length || d.putServices.length || events.length) {
      const ok = await state.commit({ putInstances: [...d.puts.values()], deleteInstances: d.deletes, putRollouts: d.putRollouts, putServices: d.putServices, events, readVersion, via: this.via });
      if (!ok) {
        this.runner?.requeue(); // state reloaded: derive again from what is stored
        return;
      }
      for (const e of events) {
        if (e.type === "service.reconcile-failed") this.d.log.error({ service: e.service, event: e.type }, e.message);
        else this.d.log.info({ service: e.service, host: e.host, event: e.type }, e.message);
      }
      for (const fn of this.commitListeners) fn(events);
      // Only after a commit: a pass that changed nothing would decide the same again, and spin.
      if (dueNow) this.runner?.requeue();
    }
    // Only what was committed counts: a pass that lost a conflict is run again and fails again.
    this.errors = errors;
    this.unplaced = d.unplaced;
    this.held = d.held;
    this.backoff = d.backoff;
    this.stuck = d.stuck;
    this.decidedInTerm = this.runner !== undefined;
    for (const id of d.drained) {
      await this.d.registry.update(id, (r) => (r.draining ? { rec: { ...r, draining: false, cordoned: true }, event: { type: "host.drained", host: id, message: "drained: no instance left; stays cordoned" } } : undefined), this.via);
    }
    for (const fn of this.passListeners) fn();
  }

  /** Every host as the planner sees it; hosts held by an unreadable record are blocked. */
  private hostViews(): HostView[] {
    const blocked = this.d.state.blockedHosts();
    const wallMinusMono = this.d.now() - (this.d.mono ?? monoMs)();
    return this.d.registry.all().map((h) => {
      const v = this.hostView(h, wallMinusMono);
      return blocked.has(h.id) ? { ...v, blocked: true } : v;
    });
  }

  /**
   * The decisions for the services in `scope` (all when undefined): the planner's
   * record changes, then one rollout step on the records as it leaves them. Pure
   * but for reading the state; throws whatever a bad record makes it throw.
   */
  private decide(scope: ReadonlySet<string> | undefined, instances: readonly InstanceRecord[], hosts: readonly HostView[], nowMs: number): Decision {
    const { state } = this.d;
    const inScope = (name: string): boolean => scope === undefined || scope.has(name);
    const services = state.allServices().filter((s) => inScope(s.name));
    const rollouts = state.allRollouts().filter((r) => inScope(r.service));
    const out = reconcile({
      services,
      instances,
      hosts,
      observed: this.observed,
      nowMs,
      failover: this.d.failover(),
      removedHosts: this.d.removedHosts?.(),
      rollouts: new Set(rollouts.map((r) => r.service)),
      newCopyRevision: new Map(
        rollouts.flatMap((r) => {
          const svc = state.service(r.service);
          return svc && r.status !== "succeeded" ? [[r.service, lastGood(svc, r)] as const] : [];
        }),
      ),
      scope,
      takeOutFromMs: this.takeOutFromMs,
    });
    // Rollouts step on the records as this pass leaves them, and commit with them.
    const ro = driveRollouts({ services, instances: out.after, rollouts, hosts, observed: this.observed, nowMs, takeOutFromMs: this.takeOutFromMs });
    const puts = new Map(out.puts.map((p) => [`${p.service}/${p.slot}`, p]));
    for (const p of ro.puts) puts.set(`${p.service}/${p.slot}`, p);
    const after = new Map(out.after.map((i) => [`${i.service}/${i.slot}`, i]));
    for (const p of ro.puts) after.set(`${p.service}/${p.slot}`, p);
    return {
      puts,
      deletes: out.deletes,
      putRollouts: ro.putRollouts,
      putServices: ro.putServices,
      events: [...out.events, ...ro.events],
      unplaced: out.unplaced,
      held: out.held,
      backoff: new Set(out.rescheduling.keys()),
      stuck: out.stuck,
      drained: out.drained,
      wakeAtMs: Math.min(out.wakeAtMs ?? Number.POSITIVE_INFINITY, ro.wakeAtMs ?? Number.POSITIVE_INFINITY),
      after: [...after.values()],
    };
  }
}
