/**
 * A simulated fleet for the rollout shell's tests (drive.test.ts, drive-carried.test.ts): the
 * reconcile planner and driveRollouts pass by pass, every 100 ms, as the loop runs them, with
 * agents that run their assignment and report as real ones do, turning healthy `healthyAfterMs`
 * after a start (or never), unless `force` pins a copy's state (a health check failing for
 * good, a crash loop).
 */
import { reconcile, type HostView } from "../../../controller/reconcile/planner.js";
import { endpointsOf } from "../../../controller/reconcile/endpoints.js";
import { driveRollouts } from "../../../controller/rollout/drive.js";
import type { RolloutState } from "../../../controller/rollout/next-step.js";
import { newRevision, lastGood } from "../../../controller/services/apply.js";
import { assignments, type InstanceRecord, type ObservedInstance, type ServiceRecord } from "../../../controller/services/records.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";

export const T0 = 1_700_000_000_000;

export function host(id: string): HostView {
  return {
    rec: { id, labels: {}, advertiseAddr: `10.0.0.${id.charCodeAt(0)}`, facts: null, health: "ready", healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "" },
    capacity: { cpu: 4, memoryMb: 8192, diskMb: 100_000 },
    artifacts: [],
  };
}

export function svc(instances: number, update: Record<string, unknown>, env: Record<string, string> = { V: "1" }): ServiceRecord {
  const spec = normalizeSpec({ name: "web", run: { command: "x", env }, instances, health: { tcp: { port: 80 } }, update: { minHealthyTime: "1s", drainTime: "500ms", healthyDeadline: "10s", ...update } });
  return { name: "web", spec, revision: 1, latestRevision: 1, createdAtMs: 0, updatedAtMs: 0 };
}

interface Copy {
  instance: string;
  epoch: number;
  revision: number;
  startedAt: number;
}

/** A fleet whose agents run their assignment and report as real ones do. */
export class Sim {
  now = T0;
  instances: InstanceRecord[] = [];
  rollouts: RolloutState[] = [];
  readonly running = new Map<string, Copy>();
  readonly observed = new Map<string, ObservedInstance>();
  readonly hosts: HostView[];
  minEndpoints = Number.POSITIVE_INFINITY;
  /** The most slots out of the endpoints after any pass (placed or not). */
  maxOut = 0;
  /** The event types, in order. */
  events: string[] = [];
  /** A copy's state pinned (on its host, for its slot, epoch and revision); undefined: as its start time says. */
  force: (hostId: string, slot: number, epoch: number, revision: number) => ObservedInstance["state"] | undefined = () => undefined;

  constructor(
    public service: ServiceRecord,
    hostIds: string[],
    private readonly healthyAfterMs: (revision: number) => number | null,
  ) {
    this.hosts = hostIds.map(host);
  }

  step(): void {
    const active = this.rollouts.filter((r) => r.status !== "succeeded");
    const out = reconcile({ services: [this.service], instances: this.instances, hosts: this.hosts, observed: this.observed, nowMs: this.now, rollouts: new Set(this.rollouts.map((r) => r.service)), newCopyRevision: new Map(active.map((r) => [r.service, lastGood(this.service, r)])) });
    const byKey = new Map(this.instances.map((i) => [`${i.service}/${i.slot}`, i]));
    for (const p of out.puts) byKey.set(`${p.service}/${p.slot}`, p);
    for (const d of out.deletes) byKey.delete(`${d.service}/${d.slot}`);
    const ro = driveRollouts({ services: [this.service], instances: [...byKey.values()], rollouts: this.rollouts, hosts: this.hosts, observed: this.observed, nowMs: this.now });
    for (const p of ro.puts) byKey.set(`${p.service}/${p.slot}`, p);
    this.instances = [...byKey.values()];
    for (const r of ro.putRollouts) this.rollouts = [...this.rollouts.filter((x) => x.service !== r.service), r];
    for (const s of ro.putServices) this.service = s;
    this.events.push(...out.events.map((e) => e.type), ...ro.events.map((e) => e.type));
    this.agents();
    const recs = new Map(this.hosts.map((h) => [h.rec.id, h.rec]));
    this.maxOut = Math.max(this.maxOut, this.service.spec.instances - endpointsOf(this.service, this.instances, recs, this.observed, this.now).length);
    if (this.instances.length === this.service.spec.instances && this.instances.every((i) => i.hostId)) {
      this.minEndpoints = Math.min(this.minEndpoints, endpointsOf(this.service, this.instances, recs, this.observed, this.now).length);
    }
    this.now += 100;
  }

  /** Each host runs what it is assigned (a new key restarts it) and reports its state. */
  private agents(): void {
    const want = assignments(this.instances);
    for (const h of this.hosts) {
      const id = h.rec.id;
      if (h.rec.health === "down") {
        this.running.delete(id);
        continue;
      }
      const a = want.get(id);
      const cur = this.running.get(id);
      if (!a) {
        this.running.delete(id);
        this.observed.delete(id);
        continue;
      }
      const inst = `${a.inst.service}-${a.inst.slot}`;
      if (!cur || cur.instance !== inst || cur.epoch !== a.epoch || cur.revision !== a.revision) {
        this.running.set(id, { instance: inst, epoch: a.epoch, revision: a.revision, startedAt: this.now });
      }
      const c = this.running.get(id)!;
      const after = this.healthyAfterMs(c.revision);
      const healthy = after !== null && this.now >= c.startedAt + after;
      const prev = this.observed.get(id);
      const state = this.force(id, a.inst.slot, c.epoch, c.revision) ?? (healthy ? "healthy" : "starting");
      const sinceMs = prev && prev.instance === inst && prev.epoch === c.epoch && prev.state === state ? prev.sinceMs : this.now;
      this.observed.set(id, { hostId: id, service: "web", instance: inst, epoch: c.epoch, revision: c.revision, state, detail: state === "failed" ? "crash loop: exit 1" : "", restarts: 0, sinceMs, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" });
    }
  }

  run(until: (s: Sim) => boolean, maxMs = 120_000): void {
    const end = this.now + maxMs;
    while (!until(this) && this.now < end) this.step();
    if (!until(this)) throw new Error(`not reached in ${maxMs} ms: ${JSON.stringify(this.rollouts)}`);
  }

  /** An apply of a spec that restarts: a new revision and its rollout, as planApply makes them. */
  apply(spec: ServiceRecord["spec"]): void {
    const n = newRevision(this.service, spec, this.instances, this.rollouts.find((r) => r.service === "web"), this.now);
    this.service = n.rec;
    this.rollouts = [n.rollout];
  }

  slot(k: number): InstanceRecord {
    return this.instances.find((i) => i.slot === k)!;
  }

  revisions(): number[] {
    return [...this.instances].sort((a, b) => a.slot - b.slot).map((i) => i.revision);
  }
}

export const settled = (s: Sim): boolean => s.instances.length === s.service.spec.instances && s.instances.every((i) => s.observed.get(i.hostId)?.state === "healthy" && s.now - s.observed.get(i.hostId)!.sinceMs >= s.service.spec.update.minHealthyTimeMs);
export const ended = (s: Sim): boolean => ["succeeded", "failed"].includes(s.rollouts[0]?.status ?? "");
