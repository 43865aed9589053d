/**
 * A surge copy that alone serves its slot (its own copy fell out), through the rollout shell
 * (rollout/drive.ts) and the reconcile planner, pass by pass: a fleet whose agents run their
 * assignment, with copies forced into a state (a health check failing for good, a crash loop).
 * Found in review: a superseded or failed rollout's such copy blocked every later rollout
 * (maxUnavailable 0), and a revert failed on the crash-looped copy a retire was taking away.
 */
import { describe, expect, it } from "vitest";
import { pause } from "../../../controller/rollout/next-step.js";
import { newRevision } from "../../../controller/services/apply.js";
import type { ServiceRecord } from "../../../controller/services/records.js";
import { settled, Sim, svc, T0 } from "./drive-sim.js";

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
