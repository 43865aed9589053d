/**
 * The rollout shell's pure decision (rollout/drive.ts) together with the reconcile
 * planner, on a simulated fleet: agents that run whatever their assignment says,
 * turning healthy `startMs` after a start (or never, for a bad revision). Time
 * moves in 100 ms steps; every step runs one reconcile pass as the loop does and
 * applies its output, as the commit does. Checked at every step: the endpoints.
 */
import { describe, expect, it } from "vitest";
import { reconcile, type HostView } from "../../../controller/reconcile/planner.js";
import { endpointsOf } from "../../../controller/reconcile/endpoints.js";
import { driveRollouts } from "../../../controller/rollout/drive.js";
import { startRollout, type RolloutState } from "../../../controller/rollout/next-step.js";
import { newRevision, restarts, lastGood } from "../../../controller/services/apply.js";
import { specOf, withRevision, type InstanceRecord, type ObservedInstance, type ServiceRecord } from "../../../controller/services/records.js";
import { ended, host, settled, Sim, svc, T0 } from "./drive-sim.js";

describe("rollouts driven through the reconcile pass", () => {
  it("4 instances, maxUnavailable 1: one out at a time, every instance ends on the new revision", () => {
    const s = new Sim(svc(4, { maxUnavailable: 1 }), ["a", "b", "c", "d", "e"], () => 300);
    s.run(settled);
    const pids = new Map(s.instances.map((i) => [i.slot, i.epoch]));
    s.minEndpoints = Number.POSITIVE_INFINITY;
    s.apply({ ...s.service.spec, run: { ...s.service.spec.run, env: { V: "2" } } });
    s.run(ended);
    expect(s.rollouts[0]).toMatchObject({ status: "succeeded", fromRevision: 1, toRevision: 2 });
    expect(s.revisions()).toEqual([2, 2, 2, 2]);
    expect(s.minEndpoints).toBe(3);
    // In place: same hosts, a new epoch each.
    for (const i of s.instances) expect(i.epoch).toBe(pids.get(i.slot)! + 1);
    expect(s.instances.every((i) => !i.drainingSinceMs)).toBe(true);
  });

  it("a revision that never gets healthy fails its first batch and is reverted; nothing else was touched", () => {
    const s = new Sim(svc(4, { maxUnavailable: 1, healthyDeadline: "3s" }), ["a", "b", "c", "d", "e"], (rev) => (rev === 2 ? null : 300));
    s.run(settled);
    s.minEndpoints = Number.POSITIVE_INFINITY;
    s.apply({ ...s.service.spec, run: { ...s.service.spec.run, env: { V: "bad" } } });
    s.run((x) => x.rollouts[0]?.autoReverted === true && ended(x));
    expect(s.rollouts[0]).toMatchObject({ status: "succeeded", autoReverted: true, fromRevision: 2, toRevision: 1 });
    // Once over, the revert still says what it undid and why (apply --wait sends users to rollout status).
    expect(s.rollouts[0]!.reason).toMatch(/^automatic revert of revision 2: slots? [\d, ]+ not in service on revision 2 within healthyDeadline \(3s\)$/);
    expect(s.service.revision).toBe(1);
    expect(s.service.latestRevision).toBe(2);
    expect(s.service.spec.run.env).toEqual({ V: "1" });
    expect(specOf(s.service, 2).run.env).toEqual({ V: "bad" }); // kept in history
    expect(s.revisions()).toEqual([1, 1, 1, 1]);
    expect(s.minEndpoints).toBe(3);
    expect(s.events).toEqual(expect.arrayContaining(["rollout.failed", "rollout.reverting", "service.reverted"]));
    // The next apply takes a revision above every one issued.
    s.apply({ ...s.service.spec, run: { ...s.service.spec.run, env: { V: "3" } } });
    expect(s.service.revision).toBe(3);
    expect(s.rollouts[0]).toMatchObject({ fromRevision: 1, toRevision: 3 });
  });

  it("a single instance with maxSurge 1 and a spare: the new copy serves before the old one leaves; never zero in service", () => {
    const s = new Sim(svc(1, { maxUnavailable: 0, maxSurge: 1 }), ["a", "b"], () => 300);
    s.run(settled);
    const before = s.instances[0]!.hostId;
    s.minEndpoints = Number.POSITIVE_INFINITY;
    s.apply({ ...s.service.spec, run: { ...s.service.spec.run, env: { V: "2" } } });
    s.run(ended);
    expect(s.rollouts[0]!.status).toBe("succeeded");
    expect(s.minEndpoints).toBe(1);
    expect(s.instances[0]).toMatchObject({ revision: 2, moveTo: null });
    expect(s.instances[0]!.hostId).not.toBe(before);
    expect(s.running.has(before)).toBe(false); // the old copy was retired: its host is a spare
    expect(s.events).toEqual(expect.arrayContaining(["rollout.surge", "rollout.retire", "instance.moved"]));
  });

  it("a stored maxSurge of 1e9 (written before it was bounded) surges onto the spares there are, quickly, without allocating per unit", () => {
    const s = new Sim(svc(2, { maxUnavailable: 1 }), ["a", "b", "c"], () => 300);
    s.run(settled);
    // As an older version stored it: no validation bounds these.
    const absurd = { ...s.service.spec, update: { ...s.service.spec.update, maxSurge: 1e9, maxUnavailable: 1e9 }, run: { ...s.service.spec.run, env: { V: "2" } } };
    s.minEndpoints = Number.POSITIVE_INFINITY;
    s.apply(absurd);
    const started = performance.now();
    s.run(ended);
    // Each pass is a millisecond or so; an array of 1e9 spare slots is seconds, or the heap.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(s.rollouts[0]!.status).toBe("succeeded");
    expect(s.revisions()).toEqual([2, 2]);
    expect(s.events).toEqual(expect.arrayContaining(["rollout.surge"]));
  });

  it("a surge copy does not take over when healthy, only after its retire has drained", () => {
    const base = svc(1, { maxUnavailable: 0, maxSurge: 1, drainTime: "2s" });
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "b", epoch: 2, revision: 2, surge: true } };
    const obs = new Map<string, ObservedInstance>([["b", { hostId: "b", service: "web", instance: "web-0", epoch: 2, revision: 2, state: "healthy", detail: "", restarts: 0, sinceMs: T0 - 60_000, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" }]]);
    const hosts = [host("a"), host("b")];
    const input = { services: [{ ...base, revision: 2 }], hosts, observed: obs, rollouts: new Set(["web"]) };
    expect(reconcile({ ...input, instances: [inst], nowMs: T0 }).puts).toEqual([]);
    const retiring = { ...inst, drainingSinceMs: T0 };
    const waiting = reconcile({ ...input, instances: [retiring], nowMs: T0 + 1000 });
    expect(waiting.puts).toEqual([]);
    expect(waiting.wakeAtMs).toBe(T0 + 2000);
    const done = reconcile({ ...input, instances: [retiring], nowMs: T0 + 2000 });
    expect(done.puts).toEqual([{ ...inst, hostId: "b", epoch: 2, revision: 2, moveTo: null, drainingSinceMs: null }]);
  });

  it("takes no step while a host of the service has not reported (a controller just restarted)", () => {
    const s = new Sim(svc(3, { maxUnavailable: 1 }), ["a", "b", "c"], () => 300);
    s.run(settled);
    s.apply({ ...s.service.spec, run: { ...s.service.spec.run, env: { V: "2" } } });
    s.observed.delete("b");
    const out = driveRollouts({ services: [s.service], instances: s.instances, rollouts: s.rollouts, hosts: s.hosts, observed: s.observed, nowMs: s.now });
    expect(out).toMatchObject({ puts: [], putRollouts: [] });
    // Every copy looked out of service without that rule: all three would have been replaced at once.
    s.observed.clear();
    expect(driveRollouts({ services: [s.service], instances: s.instances, rollouts: s.rollouts, hosts: s.hosts, observed: s.observed, nowMs: s.now }).puts).toEqual([]);
  });

  it("a canary stops after its instances until promoted", () => {
    const s = new Sim(svc(4, { maxUnavailable: 2, canary: 1 }), ["a", "b", "c", "d"], () => 300);
    s.run(settled);
    s.apply({ ...s.service.spec, run: { ...s.service.spec.run, env: { V: "2" } } });
    s.run((x) => x.rollouts[0]?.status === "awaiting-promotion");
    for (let k = 0; k < 50; k++) s.step();
    expect(s.revisions().sort()).toEqual([1, 1, 1, 2]);
    s.rollouts = [{ ...s.rollouts[0]!, status: "running", promoted: true }];
    s.run(ended);
    expect(s.revisions()).toEqual([2, 2, 2, 2]);
  });
});

describe("rollouts through trouble (review findings)", () => {
  const v = (s: Sim, x: string): ServiceRecord["spec"] => ({ ...s.service.spec, run: { ...s.service.spec.run, env: { V: x } } });

  it("a new apply over a surging single instance cancels the old surge copy and finishes on the newest revision", () => {
    const s = new Sim(svc(1, { maxUnavailable: 0, maxSurge: 1 }), ["a", "b", "c"], () => 300);
    s.run(settled);
    s.apply(v(s, "2"));
    s.run((x) => x.instances[0]!.moveTo !== null);
    s.apply(v(s, "3"));
    s.minEndpoints = Number.POSITIVE_INFINITY;
    s.run((x) => ended(x) && x.rollouts[0]!.toRevision === 3, 30_000);
    expect(s.rollouts[0]!.status).toBe("succeeded");
    expect(s.instances[0]).toMatchObject({ revision: 3, moveTo: null });
    expect(s.running.size).toBe(1); // no copy of revision 2 left on a spare
    expect(s.minEndpoints).toBe(1);
  });

  it("a revert keeps the instances and update settings applied since (they change no revision)", () => {
    const s = new Sim(svc(3, { maxUnavailable: 1, healthyDeadline: "3s" }), ["a", "b", "c", "d", "e"], (rev) => (rev === 2 ? null : 300));
    s.run(settled);
    s.apply(v(s, "bad"));
    s.service = { ...s.service, spec: { ...s.service.spec, instances: 4 } }; // a scale while it rolls
    s.run((x) => x.rollouts[0]?.autoReverted === true && ended(x));
    expect(s.service).toMatchObject({ revision: 1, spec: { instances: 4 } });
    expect(s.instances).toHaveLength(4);
    expect(s.revisions()).toEqual([1, 1, 1, 1]);
    // Undo after the revert goes to what was before revision 1 (nothing), not to the failed revision 2.
    expect(s.service.previousRevision).toBe(0);
  });

  it("a surge copy whose spare dies is started again on another spare", () => {
    const s = new Sim(svc(1, { maxUnavailable: 0, maxSurge: 1 }), ["a", "b", "c"], () => 300);
    s.run(settled);
    s.apply(v(s, "2"));
    s.run((x) => x.instances[0]!.moveTo !== null);
    const spare = s.instances[0]!.moveTo!.hostId;
    s.hosts.find((h) => h.rec.id === spare)!.rec.health = "down";
    s.minEndpoints = Number.POSITIVE_INFINITY;
    s.run(ended, 30_000);
    expect(s.rollouts[0]!.status).toBe("succeeded");
    expect(s.instances[0]!.hostId).not.toBe(spare);
    expect(s.instances[0]!.revision).toBe(2);
    expect(s.minEndpoints).toBe(1);
    expect(s.events).toContain("rollout.surge-lost");
  });

  it("a slot with no host is out of service: it costs the budget, is never batched, and takes the new revision", () => {
    // maxUnavailable 1 with one slot unplaceable: nothing more may go out; the rollout waits and says why.
    const tight = new Sim(svc(3, { maxUnavailable: 1 }), ["a", "b"], () => 300);
    tight.run((x) => x.instances.filter((i) => x.observed.get(i.hostId)?.state === "healthy").length === 2 && x.now > T0 + 3000);
    tight.apply(v(tight, "2"));
    for (let k = 0; k < 100; k++) tight.step();
    expect(tight.rollouts[0]).toMatchObject({ status: "running", batch: null });
    expect(tight.rollouts[0]!.reason).toMatch(/1 of 3 out of service already/);
    expect(tight.instances.filter((i) => i.hostId).map((i) => i.revision)).toEqual([1, 1]);
    // maxUnavailable 2: one more may go at a time; it finishes, and the slot with no host is on revision 2.
    const s = new Sim(svc(3, { maxUnavailable: 2, healthyDeadline: "3s" }), ["a", "b"], () => 300);
    s.run((x) => x.instances.filter((i) => x.observed.get(i.hostId)?.state === "healthy").length === 2 && x.now > T0 + 3000);
    expect(s.instances.filter((i) => !i.hostId)).toHaveLength(1);
    s.minEndpoints = Number.POSITIVE_INFINITY;
    s.apply(v(s, "2"));
    s.run(ended);
    expect(s.rollouts[0]!.status).toBe("succeeded");
    expect(s.revisions()).toEqual([2, 2, 2]);
    expect(s.events).not.toContain("rollout.failed");
  });
});

describe("revisions", () => {
  it("only instances, update and a stored artifact's source path change in place; anything else restarts", () => {
    expect(restarts(["instances"])).toBe(false);
    expect(restarts(["update.maxSurge", "instances"])).toBe(false);
    expect(restarts(["run.env.V"])).toBe(true);
    expect(restarts(["instances", "artifact.sha256"])).toBe(true);
    // Where a stored artifact was read from is not what runs: its digest is.
    expect(restarts(["artifact.source"])).toBe(false);
    expect(restarts(["artifact.source", "artifact.sha256"])).toBe(true);
  });

  it("history keeps what is referenced and the newest few, and undo's target", () => {
    let s = svc(1, {});
    for (let r = 2; r <= 8; r++) s = withRevision(s, r, { ...s.spec, run: { ...s.spec.run, env: { V: String(r) } } }, new Set([1]), 0);
    expect(s.revision).toBe(8);
    expect(s.previousRevision).toBe(7);
    expect((s.history ?? []).map((h) => h.revision)).toEqual([7, 6, 5, 4, 1]); // the outgoing one, three more, and the referenced
    expect(specOf(s, 7).run.env).toEqual({ V: "7" });
  });

  it("the last good revision survives a failed or still running rollout", () => {
    const s = { ...svc(1, {}), revision: 3 };
    expect(lastGood(s, undefined)).toBe(3);
    expect(lastGood(s, { ...startRollout("web", 2, 3, 0), status: "failed" })).toBe(2);
    expect(lastGood(s, startRollout("web", 3, 2, 0, { autoReverted: true }))).toBe(2);
    expect(lastGood(s, { ...startRollout("web", 2, 3, 0), status: "succeeded" })).toBe(3);
  });
});

describe("a surge copy that alone serves its slot, when its rollout fails or is superseded", () => {
  const obs = (h: string, slot: number, epoch: number, revision: number, state: ObservedInstance["state"], sinceMs: number): [string, ObservedInstance] => [
    h,
    { hostId: h, service: "web", instance: `web-${slot}`, epoch, revision, state, detail: state === "failed" ? "crash loop: exit 1" : "", restarts: 0, sinceMs, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" },
  ];
  /** A rollout 1 → 2 under way since a minute, its batch slots 0 and 1 surged onto spares. */
  const underWay = (instances: number, update: Record<string, unknown>): { rec: ServiceRecord; rollout: RolloutState } => {
    const base = svc(instances, update);
    const n = newRevision(base, { ...base.spec, run: { ...base.spec.run, env: { V: "2" } } }, [], undefined, T0 - 60_000);
    return { rec: n.rec, rollout: { ...n.rollout, startedAtMs: T0 - 60_000, lastProgressAtMs: T0 - 60_000, batch: { slots: [0, 1], startedAtMs: T0 - 60_000, viaSpare: [0, 1], issued: [{ slot: 0, kind: "surge" }, { slot: 1, kind: "surge" }], done: [] } } };
  };
  /** Reconcile passes a second apart, as the loop runs them, with what the agents reported held fixed (a crash-looped copy stays failed). */
  const passes = (start: { rec: ServiceRecord; rollout: RolloutState }, insts: InstanceRecord[], observed: Map<string, ObservedInstance>, hosts: HostView[], count: number) => {
    let service = start.rec;
    let instances = insts;
    let rollouts = [start.rollout];
    const events: string[] = [];
    let maxOut = 0;
    const recs = new Map(hosts.map((h) => [h.rec.id, h.rec]));
    for (let k = 0; k < count; k++) {
      const now = T0 + k * 1000;
      const active = rollouts.filter((r) => r.status !== "succeeded");
      const out = reconcile({ services: [service], instances, hosts, observed, nowMs: now, rollouts: new Set(rollouts.map((r) => r.service)), newCopyRevision: new Map(active.map((r) => [r.service, lastGood(service, r)])) });
      const byKey = new Map(instances.map((i) => [`${i.service}/${i.slot}`, i]));
      for (const p of out.puts) byKey.set(`${p.service}/${p.slot}`, p);
      const ro = driveRollouts({ services: [service], instances: [...byKey.values()], rollouts, hosts, observed, nowMs: now });
      for (const p of ro.puts) byKey.set(`${p.service}/${p.slot}`, p);
      instances = [...byKey.values()];
      for (const r of ro.putRollouts) rollouts = [r];
      for (const s of ro.putServices) service = s;
      events.push(...out.events.map((e) => `${k} ${e.type}: ${e.message}`), ...ro.events.map((e) => `${k} ${e.type}: ${e.message}`));
      maxOut = Math.max(maxOut, service.spec.instances - endpointsOf(service, instances, recs, observed, now).length);
    }
    return { instances, rollouts, events, maxOut };
  };

  it("a failed rollout keeps the surge copy as the slot's copy when the slot's own copy crash-looped (the planner places it again only once the surge is gone); maxUnavailable 0 holds", () => {
    const start = underWay(2, { maxUnavailable: 0, maxSurge: 2, autoRevert: false });
    const insts: InstanceRecord[] = [
      { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "c", epoch: 2, revision: 2, surge: true }, lastEpoch: 2 },
      { service: "web", slot: 1, hostId: "b", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "d", epoch: 2, revision: 2, surge: true }, lastEpoch: 2 },
    ];
    const observed = new Map([obs("a", 0, 1, 1, "failed", T0 - 5000), obs("c", 0, 2, 2, "healthy", T0 - 50_000), obs("b", 1, 1, 1, "healthy", T0 - 600_000), obs("d", 1, 2, 2, "unhealthy", T0 - 50_000)]);
    const r = passes(start, insts, observed, ["a", "b", "c", "d"].map(host), 10);
    expect(r.rollouts[0]!.status).toBe("failed");
    // Before: cancelling it waited for the copy on a to come back, which the planner never brings back while c stands.
    expect(r.instances.find((i) => i.slot === 0), r.events.join("\n")).toMatchObject({ hostId: "c", revision: 2, moveTo: null });
    expect(r.instances.find((i) => i.slot === 1)).toMatchObject({ hostId: "b", revision: 1, moveTo: null });
    expect(r.maxOut).toBe(0);
  });

  it("a superseded surge copy kept as its slot's copy with drainTime 0: the pass asks to run again at once, to finish the move", () => {
    const start = underWay(2, { maxUnavailable: 0, maxSurge: 1, drainTime: "0s" });
    const next = newRevision(start.rec, { ...start.rec.spec, run: { ...start.rec.spec.run, env: { V: "3" } } }, [], start.rollout, T0);
    const insts: InstanceRecord[] = [
      { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "c", epoch: 2, revision: 2, surge: true }, lastEpoch: 2 },
      { service: "web", slot: 1, hostId: "b", epoch: 1, revision: 1, pinnedHost: "", moveTo: null },
    ];
    const observed = new Map([obs("a", 0, 1, 1, "unhealthy", T0 - 5000), obs("c", 0, 2, 2, "healthy", T0 - 50_000), obs("b", 1, 1, 1, "healthy", T0 - 600_000)]);
    const ro = driveRollouts({ services: [next.rec], instances: insts, rollouts: [next.rollout], hosts: ["a", "b", "c", "d"].map(host), observed, nowMs: T0 });
    expect(ro.events.map((e) => e.type)).toContain("rollout.retire");
    expect(ro.puts.find((i) => i.slot === 0)).toMatchObject({ drainingSinceMs: T0, moveTo: { hostId: "c" } });
    expect(ro.wakeAtMs).toBe(T0);
  });

  it("a failed rollout whose surge copy is gone does not say it tries again (nothing does)", () => {
    const start = underWay(2, { maxUnavailable: 1, maxSurge: 2, autoRevert: false });
    const failed: RolloutState = { ...start.rollout, status: "failed", reason: "x", endedAtMs: T0 - 1000 };
    const insts: InstanceRecord[] = [
      { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: null, lastEpoch: 2 },
      { service: "web", slot: 1, hostId: "b", epoch: 1, revision: 1, pinnedHost: "", moveTo: null, lastEpoch: 2 },
    ];
    const observed = new Map([obs("a", 0, 1, 1, "healthy", T0 - 600_000), obs("b", 1, 1, 1, "healthy", T0 - 600_000)]);
    const ro = driveRollouts({ services: [start.rec], instances: insts, rollouts: [failed], hosts: ["a", "b", "c", "d"].map(host), observed, nowMs: T0 });
    expect(ro.events.map((e) => e.type)).not.toContain("rollout.surge-lost");
  });

  it("its revert keeps a superseded surge copy that alone serves its slot as the slot's copy, never stopping it (that would leave more than maxUnavailable out)", () => {
    const start = underWay(3, { maxUnavailable: 1, maxSurge: 2, autoRevert: true });
    const insts: InstanceRecord[] = [
      { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "d", epoch: 2, revision: 2, surge: true }, lastEpoch: 2 },
      { service: "web", slot: 1, hostId: "b", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "e", epoch: 2, revision: 2, surge: true }, lastEpoch: 2 },
      { service: "web", slot: 2, hostId: "c", epoch: 1, revision: 1, pinnedHost: "", moveTo: null },
    ];
    // Slot 0: its own copy unhealthy (it may come back), its surge copy serving. Slot 1: the surge copy never healthy (the failure). Slot 2: out on its own.
    const observed = new Map([obs("a", 0, 1, 1, "unhealthy", T0 - 5000), obs("d", 0, 2, 2, "healthy", T0 - 50_000), obs("b", 1, 1, 1, "healthy", T0 - 600_000), obs("e", 1, 2, 2, "unhealthy", T0 - 50_000), obs("c", 2, 1, 1, "unhealthy", T0 - 5000)]);
    const r = passes(start, insts, observed, ["a", "b", "c", "d", "e"].map(host), 5);
    expect(r.rollouts[0]).toMatchObject({ autoReverted: true, toRevision: 1 });
    expect(r.maxOut, r.events.join("\n")).toBeLessThanOrEqual(1);
    // The failing rollout's unwind keeps it (a retire onto d), before the revert could stop it.
    expect(r.events.filter((e) => e.includes("web-0")).join("\n")).toMatch(/rollout\.retire: web-0: the copy on a drains; d takes over/);
    expect(r.events.some((e) => /rollout\.cancel: web-0/.test(e))).toBe(false);
    expect(r.instances.find((i) => i.slot === 1)!.moveTo).toBeNull();
  });
});
