/**
 * A surge copy that alone serves its slot (its own copy fell out), through the rollout shell
 * (rollout/drive.ts) and the reconcile planner, pass by pass: a fleet whose agents run their
 * assignment, with copies forced into a state (a health check failing for good, a crash loop).
 * Found in review: a superseded or failed rollout's such copy blocked every later rollout
 * (maxUnavailable 0), and a revert failed on the crash-looped copy a retire was taking away.
 */
import { describe, expect, it } from "vitest";
import { reconcile, type HostView } from "../../../controller/reconcile/planner.js";
import { endpointsOf } from "../../../controller/reconcile/endpoints.js";
import { driveRollouts } from "../../../controller/rollout/drive.js";
import { pause, type RolloutState } from "../../../controller/rollout/next-step.js";
import { newRevision, lastGood } from "../../../controller/services/apply.js";
import { assignments, type InstanceRecord, type ObservedInstance, type ServiceRecord } from "../../../controller/services/records.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";

const T0 = 1_700_000_000_000;

function host(id: string): HostView {
  return {
    rec: { id, labels: {}, advertiseAddr: `10.0.0.${id.charCodeAt(0)}`, facts: null, health: "ready", healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "" },
    capacity: { cpu: 4, memoryMb: 8192, diskMb: 100_000 },
    artifacts: [],
  };
}

function svc(instances: number, update: Record<string, unknown>, env: Record<string, string> = { V: "1" }): ServiceRecord {
  const spec = normalizeSpec({ name: "web", run: { command: "x", env }, instances, health: { tcp: { port: 80 } }, update: { minHealthyTime: "1s", drainTime: "500ms", healthyDeadline: "10s", ...update } });
  return { name: "web", spec, revision: 1, latestRevision: 1, createdAtMs: 0, updatedAtMs: 0 };
}

interface Copy { instance: string; epoch: number; revision: number; startedAt: number }

/** Copies of (host, epoch) forced into a state (a health check failing for good, a crash loop). */
type Force = (hostId: string, slot: number, epoch: number, revision: number) => ObservedInstance["state"] | undefined;

class Sim {
  now = T0;
  instances: InstanceRecord[] = [];
  rollouts: RolloutState[] = [];
  readonly running = new Map<string, Copy>();
  readonly observed = new Map<string, ObservedInstance>();
  readonly hosts: HostView[];
  maxOut = 0;
  events: string[] = [];
  force: Force = () => undefined;
  constructor(public service: ServiceRecord, hostIds: string[], private readonly healthyAfterMs: (revision: number) => number | null) {
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
    this.events.push(...out.events.map((e) => `${this.now - T0} ${e.type}: ${e.message}`), ...ro.events.map((e) => `${this.now - T0} ${e.type}: ${e.message}`));
    this.agents();
    const recs = new Map(this.hosts.map((h) => [h.rec.id, h.rec]));
    this.maxOut = Math.max(this.maxOut, this.service.spec.instances - endpointsOf(this.service, this.instances, recs, this.observed, this.now).length);
    this.now += 100;
  }
  private agents(): void {
    const want = assignments(this.instances);
    for (const h of this.hosts) {
      const id = h.rec.id;
      if (h.rec.health === "down") { this.running.delete(id); continue; }
      const a = want.get(id);
      const cur = this.running.get(id);
      if (!a) { this.running.delete(id); this.observed.delete(id); continue; }
      const inst = `${a.inst.service}-${a.inst.slot}`;
      if (!cur || cur.instance !== inst || cur.epoch !== a.epoch || cur.revision !== a.revision) this.running.set(id, { instance: inst, epoch: a.epoch, revision: a.revision, startedAt: this.now });
      const c = this.running.get(id)!;
      const after = this.healthyAfterMs(c.revision);
      const forced = this.force(id, a.inst.slot, c.epoch, c.revision);
      const state = forced ?? (after !== null && this.now >= c.startedAt + after ? "healthy" : "starting");
      const prev = this.observed.get(id);
      const sinceMs = prev && prev.instance === inst && prev.epoch === c.epoch && prev.state === state ? prev.sinceMs : this.now;
      this.observed.set(id, { hostId: id, service: "web", instance: inst, epoch: c.epoch, revision: c.revision, state, detail: state === "failed" ? "crash loop: exit 1" : "", restarts: 0, sinceMs, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" });
    }
  }
  run(until: (s: Sim) => boolean, maxMs = 120_000): boolean {
    const end = this.now + maxMs;
    while (!until(this) && this.now < end) this.step();
    return until(this);
  }
  apply(spec: ServiceRecord["spec"]): void {
    const n = newRevision(this.service, spec, this.instances, this.rollouts.find((r) => r.service === "web"), this.now);
    this.service = n.rec;
    this.rollouts = [n.rollout];
  }
  slot(k: number): InstanceRecord { return this.instances.find((i) => i.slot === k)!; }
}

const settled = (s: Sim): boolean => s.instances.length === s.service.spec.instances && s.instances.every((i) => s.observed.get(i.hostId)?.state === "healthy" && s.now - s.observed.get(i.hostId)!.sinceMs >= s.service.spec.update.minHealthyTimeMs);
const v = (s: Sim, x: string): ServiceRecord["spec"] => ({ ...s.service.spec, run: { ...s.service.spec.run, env: { V: x } } });
const inService = (s: Sim, h: string): boolean => s.observed.get(h)?.state === "healthy" && s.now - s.observed.get(h)!.sinceMs >= 1000;

describe("a superseded surge copy carrying its slot, its own copy unhealthy for good", () => {
  it("maxUnavailable 0: the next rollout keeps it as the slot's copy, then moves the slot like any other, nothing ever out", () => {
    const s = new Sim(svc(2, { maxUnavailable: 0, maxSurge: 1, progressDeadline: "30s", healthyDeadline: "10s" }), ["a", "b", "c", "d"], () => 300);
    s.run(settled);
    const own0 = s.slot(0).hostId;
    s.apply(v(s, "2"));
    // The operator pauses as slot 0's surge copy starts.
    s.run((x) => x.slot(0).moveTo !== null);
    s.rollouts = [pause(s.rollouts[0]!)];
    const spare0 = s.slot(0).moveTo!.hostId;
    s.run((x) => inService(x, spare0));
    // Meanwhile slot 0's own copy (revision 1) turns unhealthy, and stays so (a failing health check).
    s.force = (h, slot, epoch, rev) => (h === own0 && slot === 0 && rev === 1 ? "unhealthy" : undefined);
    for (let k = 0; k < 30; k++) s.step();
    // The operator applies a fix, revision 3.
    s.apply(v(s, "3"));
    s.maxOut = 0;
    s.run((x) => x.rollouts[0]!.status === "failed" || x.rollouts[0]!.status === "succeeded", 600_000);
    // Let whatever follows (an automatic revert) end too.
    s.run((x) => ["failed", "succeeded"].includes(x.rollouts[0]!.status) && (x.rollouts[0]!.autoReverted || !x.service.spec.update.autoRevert), 600_000);
    expect(s.maxOut).toBe(0);
    expect(s.rollouts[0]).toMatchObject({ status: "succeeded", toRevision: 3 });
  });
});

describe("a failed rollout's surge copy carrying its slot, then the next apply", () => {
  it("maxUnavailable 0, autoRevert off: the failed rollout keeps it as the slot's copy; the next rollout succeeds, nothing ever out", () => {
    const base = svc(2, { maxUnavailable: 0, maxSurge: 1, autoRevert: false, progressDeadline: "30s" });
    const n = newRevision(base, v({ service: base } as Sim, "2"), [], undefined, T0 - 60_000);
    const s = new Sim(n.rec, ["a", "b", "c", "d"], () => 300);
    // Rollout 1 → 2 a minute in: slot 0 surged onto c (healthy, in service), slot 1 waits for the spare (maxSurge 1).
    s.rollouts = [{ ...n.rollout, startedAtMs: T0 - 60_000, lastProgressAtMs: T0 - 60_000, batch: { slots: [0], startedAtMs: T0 - 60_000, viaSpare: [0], issued: [{ slot: 0, kind: "surge" }], done: [] } }];
    s.instances = [
      { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "c", epoch: 2, revision: 2, surge: true }, lastEpoch: 2 },
      { service: "web", slot: 1, hostId: "b", epoch: 1, revision: 1, pinnedHost: "", moveTo: null, lastEpoch: 1 },
    ];
    for (const [h, slot, epoch, revision] of [["a", 0, 1, 1], ["b", 1, 1, 1], ["c", 0, 2, 2]] as const) {
      s.running.set(h, { instance: `web-${slot}`, epoch, revision, startedAt: T0 - 60_000 });
      s.observed.set(h, { hostId: h, service: "web", instance: `web-${slot}`, epoch, revision, state: "healthy", detail: "", restarts: 0, sinceMs: T0 - 50_000, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" });
    }
    // Slot 0's own copy turned unhealthy (a failing health check) just as the progress deadline passes.
    s.observed.set("a", { ...s.observed.get("a")!, state: "unhealthy", sinceMs: T0 - 1000 });
    s.force = (h, slot, epoch, rev) => (h === "a" && rev === 1 ? "unhealthy" : undefined);
    s.step();
    expect(s.rollouts[0]!.status).toBe("failed");
    for (let k = 0; k < 100; k++) s.step();
    // Kept as slot 0's copy (before: a cancel waiting for budget that maxUnavailable 0 never gives, for good).
    expect(s.slot(0)).toMatchObject({ hostId: "c", revision: 2, moveTo: null });
    // The next apply moves both slots (before: nothing moved, the surge copy holding maxSurge, and it failed at progressDeadline).
    s.apply(v(s, "3"));
    s.run((x) => ["failed", "succeeded"].includes(x.rollouts[0]!.status), 600_000);
    expect(s.maxOut).toBe(0);
    expect(s.rollouts[0]).toMatchObject({ status: "succeeded", toRevision: 3 });
  });
});

describe("the revert after an unwind's retire", () => {
  it("drainTime 30s > healthyDeadline 10s: the revert waits for the move, not failing on the crash-looped copy the retire takes away", () => {
    const base = svc(2, { maxUnavailable: 0, maxSurge: 2, autoRevert: true, drainTime: "30s", healthyDeadline: "10s", progressDeadline: "5m" });
    const n = newRevision(base, v({ service: base } as Sim, "2"), [], undefined, T0 - 60_000);
    const s = new Sim(n.rec, ["a", "b", "c", "d", "e", "f"], () => 300);
    s.rollouts = [{ ...n.rollout, startedAtMs: T0 - 60_000, lastProgressAtMs: T0 - 60_000, batch: { slots: [0, 1], startedAtMs: T0 - 60_000, viaSpare: [0, 1], issued: [{ slot: 0, kind: "surge" }, { slot: 1, kind: "surge" }], done: [] } }];
    s.instances = [
      { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "c", epoch: 2, revision: 2, surge: true }, lastEpoch: 2 },
      { service: "web", slot: 1, hostId: "b", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "d", epoch: 2, revision: 2, surge: true }, lastEpoch: 2 },
    ];
    for (const [h, slot, epoch, revision] of [["a", 0, 1, 1], ["b", 1, 1, 1], ["c", 0, 2, 2], ["d", 1, 2, 2]] as const) {
      s.running.set(h, { instance: `web-${slot}`, epoch, revision, startedAt: T0 - 60_000 });
      s.observed.set(h, { hostId: h, service: "web", instance: `web-${slot}`, epoch, revision, state: "healthy", detail: "", restarts: 0, sinceMs: T0 - 50_000, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" });
    }
    s.force = (h, slot, epoch, rev) => (h === "a" && epoch === 1 ? "failed" : h === "d" && rev === 2 ? "unhealthy" : undefined);
    s.observed.set("a", { ...s.observed.get("a")!, state: "failed", detail: "crash loop: exit 1", sinceMs: T0 - 5000 });
    s.observed.set("d", { ...s.observed.get("d")!, state: "unhealthy", sinceMs: T0 - 50_000 });
    s.step();
    expect(s.rollouts[0]).toMatchObject({ status: "reverting", toRevision: 1 });
    s.run((x) => ["failed", "succeeded"].includes(x.rollouts[0]!.status), 300_000);
    expect(s.maxOut).toBe(0);
    expect(s.rollouts[0]).toMatchObject({ status: "succeeded", toRevision: 1 });
  });
});
