/**
 * The reconcile loop (STYLE.md: Kubernetes' workqueue, reduced to one key —
 * the fleet — since one pass over all services is cheap at our scale): anything
 * that may change the desired or actual state calls kick(); passes never overlap,
 * kicks during a pass cause one more pass, and a periodic tick re-derives
 * everything anyway (level-triggered: a lost kick costs at most one tick).
 */
import { monoMs } from "../../shared/clock.js";
import type { Logger } from "../../shared/log/logger.js";
import { Coalescer } from "../../shared/coalesce.js";
import type { Assignment } from "../../shared/gen/berth/v1/Assignment.js";
import type { HostRegistry } from "../hosts/registry.js";
import type { HostRecord } from "../hosts/host.js";
import type { NewEvent } from "../events/event-log.js";
import type { ServiceState } from "../services/state.js";
import { instanceId, specOf, type ObservedInstance } from "../services/records.js";
import { driveRollouts } from "../rollout/drive.js";
import { lastGood } from "../services/apply.js";
import { reconcile, type FailoverInput, type HostView } from "./planner.js";
import { setTimeoutClamped } from "../../shared/timer.js";

const MiB = 1024 * 1024;
/** Safety-net period of the level-triggered loop. @default 1000 */
export const RECONCILE_TICK_MS = 1000;

export class ReconcileLoop {
  /** instance id → why it is pending, from the last pass */
  unplaced = new Map<string, string>();
  /** instance id → why a lost instance is not replaced (yet) */
  held = new Map<string, string>();
  private wake: NodeJS.Timeout | undefined;
  /** host id → what the host reports running */
  readonly observed = new Map<string, ObservedInstance>();
  private readonly lastSent = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly runner: Coalescer;
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

  constructor(
    private readonly d: {
      state: ServiceState;
      registry: HostRegistry;
      log: Logger;
      now: () => number;
      /** Heartbeat ages are measured on it. @default monoMs */
      mono?: () => number;
      failover: () => FailoverInput;
    },
  ) {
    this.runner = new Coalescer(
      () => this.pass(),
      (err) => this.d.log.error({ err }, "reconcile pass failed"),
    );
  }

  /** Does this host run a copy (instance, epoch) that the records no longer give it? */
  isSuperseded(hostId: string, instance: string, epoch: number): boolean {
    const a = this.d.state.hostAssignments().get(hostId);
    if (!a) return true;
    return instanceId(a.inst.service, a.inst.slot) !== instance || a.epoch !== epoch;
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), RECONCILE_TICK_MS);
    this.timer.unref();
    this.kick();
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.wake);
    return this.runner.close();
  }

  kick(): void {
    this.runner.kick();
  }

  /** Resolves after a pass that started after this call has finished. */
  async settle(): Promise<void> {
    await this.runner.settled();
    this.kick();
    await this.runner.settled();
  }

  hostView(rec: HostRecord): HostView {
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
      lastHeartbeatMs: live?.lastHeartbeatMono === undefined ? undefined : this.d.now() - ((this.d.mono ?? monoMs)() - live.lastHeartbeatMono),
    };
  }

  private async pass(): Promise<void> {
    const { state, registry } = this.d;
    const nowMs = this.d.now();
    const readVersion = state.version;
    const services = state.allServices();
    const instances = state.allInstances();
    const hosts = registry.all().map((h) => this.hostView(h));
    const rollouts = state.allRollouts();
    const out = reconcile({
      services,
      instances,
      hosts,
      observed: this.observed,
      nowMs,
      failover: this.d.failover(),
      rollouts: new Set(rollouts.map((r) => r.service)),
      newCopyRevision: new Map(rollouts.flatMap((r) => {
        const svc = state.service(r.service);
        return svc && r.status !== "succeeded" ? [[r.service, lastGood(svc, r)] as const] : [];
      })),
    });
    // Rollouts step on the records as this pass leaves them, and commit with them.
    const ro = driveRollouts({ services, instances: out.after, rollouts, hosts, observed: this.observed, nowMs });
    const puts = new Map(out.puts.map((p) => [`${p.service}/${p.slot}`, p]));
    for (const p of ro.puts) puts.set(`${p.service}/${p.slot}`, p);
    const events = [...out.events, ...ro.events];
    this.unplaced = out.unplaced;
    this.held = out.held;
    // Timers no event announces (a fencing wait, a drain's end, minHealthyTime, deadlines): wake up for them.
    clearTimeout(this.wake);
    const wakeAt = Math.min(out.wakeAtMs ?? Number.POSITIVE_INFINITY, ro.wakeAtMs ?? Number.POSITIVE_INFINITY);
    if (Number.isFinite(wakeAt)) {
      // Clamped: a deadline past Node's timer range (a stored 30d) would otherwise fire at once, every pass.
      this.wake = setTimeoutClamped(() => this.kick(), wakeAt - this.d.now() + 5);
      this.wake.unref();
    }
    if (puts.size || out.deletes.length || ro.putRollouts.length || ro.putServices.length) {
      const ok = await state.commit({ putInstances: [...puts.values()], deleteInstances: out.deletes, putRollouts: ro.putRollouts, putServices: ro.putServices, events, readVersion });
      if (!ok) {
        this.runner.requeue(); // state reloaded: derive again from what is stored
        return;
      }
      for (const e of events) this.d.log.info({ service: e.service, host: e.host, event: e.type }, e.message);
      for (const fn of this.commitListeners) fn(events);
    }
    for (const id of out.drained) {
      await registry.update(id, (r) => (r.draining ? { rec: { ...r, draining: false, cordoned: true }, event: { type: "host.drained", host: id, message: "drained: no instance left; stays cordoned" } } : undefined));
    }
    this.pushAssignments();
    for (const fn of this.passListeners) fn();
  }

  /** The host's whole desired state (DESIGN.md: re-sent whole on change and reconnect). */
  assignmentFor(hostId: string): Assignment {
    const a = this.d.state.hostAssignments().get(hostId);
    if (!a) return { service: "", instance: "", epoch: 0, revision: 0, spec_json: "" };
    const svc = this.d.state.service(a.inst.service);
    if (!svc) return { service: "", instance: "", epoch: 0, revision: 0, spec_json: "" };
    return { service: svc.name, instance: instanceId(svc.name, a.inst.slot), epoch: a.epoch, revision: a.revision, spec_json: JSON.stringify(specOf(svc, a.revision)) };
  }

  /** The records' version at the last push: assignments derive from the records alone. */
  private pushedVersion = -1;

  /**
   * Sends each connected host its assignment when it differs from what it was last
   * sent. Assignments depend only on the records, so a pass that changed none sends
   * nothing and serializes nothing; a (re)connecting host is sent its own by sendAssignment.
   */
  pushAssignments(): void {
    if (this.d.state.version === this.pushedVersion) return;
    this.pushedVersion = this.d.state.version;
    for (const [id, live] of this.d.registry.live) {
      if (!live.send) continue;
      const a = this.assignmentFor(id);
      const json = JSON.stringify(a);
      if (this.lastSent.get(id) === json) continue;
      this.lastSent.set(id, json);
      live.send({ assignment: a });
    }
  }

  /** On (re)connect the host gets its assignment whatever it was sent before. */
  sendAssignment(hostId: string): void {
    const live = this.d.registry.live.get(hostId);
    if (!live?.send) return;
    const a = this.assignmentFor(hostId);
    this.lastSent.set(hostId, JSON.stringify(a));
    live.send({ assignment: a });
  }
}
