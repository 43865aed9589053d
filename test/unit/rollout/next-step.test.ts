/**
 * Rollout scenarios on a simulated fleet (sim.ts): the core decides, the simulator
 * plays the shell and the agents, the clock jumps from event to event.
 */
import { describe, expect, it } from "vitest";
import { endpoints, nextStep, pause, promote, resume, startRollout, type NextStepInput, type RolloutState, type SlotView } from "../../../controller/rollout/next-step.js";
import { assertNever } from "../../../controller/scheduler/assert-never.js";
import { minInService, Sim, update, type Issued } from "./sim.js";

/** The actions as compact strings, e.g. "500 replace 0→2". */
function log(issued: readonly Issued[]): string[] {
  return issued.map(({ t, action: a }) => {
    switch (a.kind) {
      case "replace":
      case "surge":
        return `${t} ${a.kind} ${a.slot}→${a.revision}`;
      case "drain":
      case "retire":
      case "cancel":
        return `${t} ${a.kind} ${a.slot}`;
      default:
        return assertNever(a);
    }
  });
}

const v2In2s = (): number => 2000;

describe("rollout: in place, maxUnavailable 1", () => {
  it("moves 4 instances v1 → v2 one at a time, never fewer than 3 in the endpoints (the worked example)", () => {
    const sim = new Sim({ instances: 4, update: update(), spares: 0, from: 1, to: 2, startDelayMs: v2In2s });
    sim.settle();
    expect(sim.lastResult?.wakeAtMs).toBe(500); // the drain's end, not a poll
    expect(sim.run().stalled).toBe(false);
    expect(log(sim.issued)).toEqual([
      "0 drain 0",
      "500 replace 0→2",
      "3500 drain 1",
      "4000 replace 1→2",
      "7000 drain 2",
      "7500 replace 2→2",
      "10500 drain 3",
      "11000 replace 3→2",
    ]);
    expect(sim.rollout.status).toBe("succeeded");
    expect(sim.now).toBe(14_000);
    expect(sim.revisions()).toEqual([2, 2, 2, 2]);
    expect(sim.inService()).toBe(4);
    expect(minInService(sim)).toBe(3);
    expect(sim.events.filter((e) => e.type === "rollout.progress").map((e) => e.t)).toEqual([3500, 7000, 10_500, 14_000]);
  });

  it("fails a never-healthy v3 after the first batch's healthyDeadline and reverts to v2, never below 3 in service", () => {
    const sim = new Sim({ instances: 4, update: update(), spares: 0, from: 2, to: 3, startDelayMs: (rev) => (rev === 3 ? "never" : 2000) });
    expect(sim.run().stalled).toBe(false);
    const [failed, revert] = sim.rollouts;
    expect(failed?.status).toBe("failed");
    expect(failed?.reason).toMatch(/slot 0 not in service on revision 3 within healthyDeadline/);
    expect(revert).toMatchObject({ fromRevision: 3, toRevision: 2, autoReverted: true, status: "succeeded" });
    // healthyDeadline counts from the batch start plus drainTime: 0 + 500 + 10 000.
    const failedAt = sim.events.find((e) => e.type === "rollout.failed")?.t;
    expect(failedAt).toBe(10_500);
    expect(sim.events.find((e) => e.type === "rollout.reverting")?.message).toMatch(/revision 2/);
    // Only slot 0 ever ran v3; the revert replaces it at once (it is out of service already: no drain).
    expect(log(sim.issued)).toEqual(["0 drain 0", "500 replace 0→3", "10500 replace 0→2"]);
    expect(sim.revisions()).toEqual([2, 2, 2, 2]);
    expect(minInService(sim)).toBe(3);
    expect(sim.samples.filter((s) => s.status === "reverting").every((s) => s.inService >= 3)).toBe(true);
    expect(sim.now).toBe(13_500);
  });

  it("a first rollout from a revision none of whose copies ever worked is not reverted to it: it says so and stays failed", () => {
    const sim = new Sim({ instances: 2, update: update(), spares: 0, from: 1, to: 2, startDelayMs: () => "never", fromBroken: true, first: true });
    sim.run();
    expect(sim.rollouts).toHaveLength(1);
    expect(sim.rollout).toMatchObject({ status: "failed", fromWorked: "no" });
    expect(sim.rollout.reason).toMatch(/within healthyDeadline \(10s\); not reverted: revision 1 never had a working instance/);
    expect(sim.events.map((e) => e.type)).toContain("rollout.not-reverted");
    expect(sim.events.some((e) => e.type === "rollout.reverting")).toBe(false);
    // A working one is seen as such, and a failure goes back to it.
    const ok = new Sim({ instances: 4, update: update(), spares: 0, from: 1, to: 2, startDelayMs: (rev) => (rev === 2 ? "never" : 2000), first: true });
    ok.run();
    expect(ok.rollouts[0]).toMatchObject({ status: "failed", fromWorked: "yes" });
    expect(ok.rollouts[1]).toMatchObject({ autoReverted: true, toRevision: 1 });
    // Any later rollout (one before it, whatever became of it) goes back as always: not looked at.
    const later = new Sim({ instances: 2, update: update(), spares: 0, from: 1, to: 2, startDelayMs: () => "never", fromBroken: true });
    later.run();
    expect(later.rollouts[0]!.fromWorked).toBeUndefined();
    expect(later.rollouts[1]).toMatchObject({ autoReverted: true, toRevision: 1 });
  });

  it("does not revert without autoRevert, and a revert that fails is not reverted again", () => {
    const noRevert = new Sim({ instances: 3, update: update({ autoRevert: false }), spares: 0, from: 1, to: 2, startDelayMs: (rev) => (rev === 2 ? "never" : 2000) });
    noRevert.run();
    expect(noRevert.rollouts).toHaveLength(1);
    expect(noRevert.rollout.status).toBe("failed");
    expect(noRevert.events.some((e) => e.type === "rollout.reverting")).toBe(false);
    expect(minInService(noRevert)).toBe(2);

    const r = startRollout("web", 2, 1, 0, { autoReverted: true });
    expect(r.status).toBe("reverting");
    const out = nextStep({ rollout: { ...r, lastProgressAtMs: -100_000 }, update: update(), instances: 1, slots: [slot(0, 2)], spareHosts: 0, nowMs: 0 });
    expect(out.rollout.status).toBe("failed");
    expect(out.revertTo).toBeUndefined();
  });
});

describe("rollout: a step that is due at once", () => {
  // The views given to nextStep are from before its own actions: the end of a drain it
  // issues must still be its wake-up, and with drainTime 0 that is now (issue 12).
  it("a drain it issues makes the replace due after drainTime", () => {
    const views = [slot(0, 1), slot(1, 1)];
    const out = nextStep({ rollout: startRollout("web", 1, 2, 1000), update: update({ drainTimeMs: 500 }), instances: 2, slots: views, spareHosts: 0, nowMs: 1000 });
    expect(out.actions).toEqual([{ kind: "drain", slot: 0 }]);
    expect(out.wakeAtMs).toBe(1500);
  });

  // One step, so one commit and one assignment: no second pass (and store fsync) between
  // the copy leaving the endpoints and its replacement being asked for.
  it("with drainTime 0 the drain and its replace are issued in the same step, and nothing is left due", () => {
    const views = [slot(0, 1), slot(1, 1)];
    const u = update({ drainTimeMs: 0 });
    const out = nextStep({ rollout: startRollout("web", 1, 2, 1000), update: u, instances: 2, slots: views, spareHosts: 0, nowMs: 1000 });
    expect(out.actions).toEqual([
      { kind: "drain", slot: 0 },
      { kind: "replace", slot: 0, revision: 2 },
    ]);
    expect(out.rollout.batch?.issued).toEqual([
      { slot: 0, kind: "drain" },
      { slot: 0, kind: "replace" },
    ]);
    // The next thing to wait for is the new copy's health (its deadline), not a drain's end.
    expect(out.wakeAtMs).toBe(1000 + u.healthyDeadlineMs);
    // Called again before the effects show, it issues nothing more.
    const again = nextStep({ rollout: out.rollout, update: u, instances: 2, slots: [{ ...views[0]!, drainingSinceMs: 1000 }, views[1]!], spareHosts: 0, nowMs: 1001 });
    expect(again.actions).toEqual([]);
  });
});

describe("rollout: a controller that just started leading", () => {
  // Followers of the endpoints that lost the previous controller see nothing of a drain
  // until they are back: the first drains wait for them (FOLLOWER_GRACE_MS). The
  // rollout test's load generator sent to a copy stopped 1 s after a drain issued
  // 0.5-1.2 s after the restart, before its watch had reconnected (6 runs of 7, load 6-19).
  const u = update({ drainTimeMs: 500 });
  const input = (rollout: RolloutState, slots: SlotView[], nowMs: number, takeOutFromMs: number): NextStepInput => ({ rollout, update: u, instances: slots.length, slots, spareHosts: 0, nowMs, takeOutFromMs });

  it("starts no batch and drains nothing before takeOutFromMs, and wakes then", () => {
    const views = [slot(0, 1), slot(1, 1)];
    const held = nextStep(input(startRollout("web", 1, 2, 0), views, 1000, 6000));
    expect(held.actions).toEqual([]);
    expect(held.rollout.batch).toBeNull();
    expect(held.rollout.reason).toMatch(/followers of the endpoints/);
    expect(held.wakeAtMs).toBe(6000);
    const due = nextStep(input(held.rollout, views, 6000, 6000));
    expect(due.actions).toEqual([{ kind: "drain", slot: 0 }]);
    expect(due.rollout.batch?.startedAtMs).toBe(6000);
  });

  it("does not judge whether the revision it leaves works before its hosts can have reported", () => {
    // Right after the start nobody has reported: the slots look out of service.
    const unknown = [slot(0, 1, { phase: "starting", healthySinceMs: null }), slot(1, 1, { phase: "starting", healthySinceMs: null })];
    const held = nextStep(input(startRollout("web", 1, 2, 0, { first: true }), unknown, 1000, 6000));
    expect(held.rollout.fromWorked).toBe("unknown");
    const due = nextStep(input(held.rollout, [slot(0, 1, { phase: "unhealthy", healthySinceMs: null }), slot(1, 1, { phase: "starting", healthySinceMs: null })], 6000, 6000));
    // One copy not known broken: working, as far as a revert goes.
    expect(due.rollout.fromWorked).toBe("yes");
  });

  it("finishes what was under way: a copy drained before the restart is replaced, a due retire waits", () => {
    // Slot 0 drained before the restart (its followers had that list); slot 1 has a surge copy in service.
    const r: RolloutState = { ...startRollout("web", 1, 2, 0), batch: { slots: [0, 1], startedAtMs: 0, viaSpare: [1], issued: [{ slot: 0, kind: "drain" }, { slot: 1, kind: "surge" }], done: [] } };
    const views = [slot(0, 1, { phase: "draining", drainingSinceMs: 0 }), { ...slot(1, 1), surge: { revision: 2, phase: "in-service" as const, healthySinceMs: 0 } }, slot(2, 1)];
    const held = nextStep(input(r, views, 1000, 6000));
    expect(held.actions).toEqual([{ kind: "replace", slot: 0, revision: 2 }]);
    expect(held.wakeAtMs).toBe(6000);
    expect(nextStep(input(held.rollout, views, 6000, 6000)).actions).toEqual([{ kind: "retire", slot: 1 }]);
  });
});

describe("rollout: canary", () => {
  it("stops after one slot until promoted, without failing while it waits, then finishes", () => {
    const sim = new Sim({ instances: 4, update: update({ canary: 1, progressDeadlineMs: 15_000 }), spares: 0, from: 1, to: 2, startDelayMs: v2In2s });
    expect(sim.run().stalled).toBe(true);
    expect(sim.rollout.status).toBe("awaiting-promotion");
    expect(sim.rollout.reason).toMatch(/canary: 1 of 4/);
    expect(sim.revisions()).toEqual([2, 1, 1, 1]);
    expect(sim.lastResult?.wakeAtMs).toBeNull(); // nothing timed while a human decides
    // A long wait for a human is not lack of progress.
    sim.advanceTo(100_000);
    sim.settle();
    expect(sim.rollout.status).toBe("awaiting-promotion");
    expect(sim.issued).toHaveLength(2);
    sim.promoteNow();
    expect(sim.run().stalled).toBe(false);
    expect(sim.rollout.status).toBe("succeeded");
    expect(log(sim.issued).slice(2, 3)).toEqual(["100000 drain 1"]);
    expect(sim.revisions()).toEqual([2, 2, 2, 2]);
    expect(minInService(sim)).toBe(3);
  });
});

describe("rollout: surge onto spares", () => {
  it("upgrades a single instance with maxSurge 1, maxUnavailable 0 and never leaves the endpoints empty", () => {
    const sim = new Sim({ instances: 1, update: update({ maxUnavailable: 0, maxSurge: 1 }), spares: 1, from: 1, to: 2, startDelayMs: v2In2s });
    expect(sim.run().stalled).toBe(false);
    // Surge at 0, healthy at 2 s, in service at 3 s: retire; the old copy drains 0.5 s, then the slot moves.
    expect(log(sim.issued)).toEqual(["0 surge 0→2", "3000 retire 0"]);
    expect(sim.rollout.status).toBe("succeeded");
    expect(sim.now).toBe(3500);
    expect(sim.revisions()).toEqual([2]);
    expect(minInService(sim)).toBe(1);
    expect(sim.spares).toBe(1);
  });

  it("surges first, within min(maxSurge, spareHosts), and drains in place with the rest of the budget", () => {
    const sim = new Sim({ instances: 4, update: update({ maxUnavailable: 1, maxSurge: 2 }), spares: 1, from: 1, to: 2, startDelayMs: v2In2s });
    sim.settle();
    expect(log(sim.issued)).toEqual(["0 surge 0→2", "0 drain 1"]);
    expect(sim.run().stalled).toBe(false);
    expect(sim.rollout.status).toBe("succeeded");
    expect(sim.revisions()).toEqual([2, 2, 2, 2]);
    expect(minInService(sim)).toBe(3);
    expect(sim.maxSurgeCopies).toBe(1);
  });

  it("cancels the surge copy of a revision that never gets healthy, and the revert touches nothing else", () => {
    const sim = new Sim({ instances: 1, update: update({ maxUnavailable: 0, maxSurge: 1 }), spares: 1, from: 1, to: 2, startDelayMs: (rev) => (rev === 2 ? "never" : 2000) });
    sim.run();
    // A surge-only batch has no drain: its deadline is 0 + healthyDeadline.
    expect(log(sim.issued)).toEqual(["0 surge 0→2", "10000 cancel 0"]);
    expect(sim.rollouts.map((r) => r.status)).toEqual(["failed", "succeeded"]);
    expect(sim.revisions()).toEqual([1]);
    expect(sim.spares).toBe(1);
    expect(minInService(sim)).toBe(1);
  });
});

describe("rollout: pause and resume", () => {
  it("finishes the drained slot's replacement while paused, starts nothing new, and does not time out", () => {
    const sim = new Sim({ instances: 4, update: update(), spares: 0, from: 1, to: 2, startDelayMs: v2In2s, pauses: [{ atMs: 200, resumeAtMs: 100_000 }] });
    expect(sim.run().stalled).toBe(false);
    expect(log(sim.issued).slice(0, 3)).toEqual(["0 drain 0", "500 replace 0→2", "100000 drain 1"]);
    expect(sim.rollouts).toHaveLength(1);
    expect(sim.rollout.status).toBe("succeeded");
    expect(sim.now).toBe(100_000 + 3 * 3500);
    expect(sim.events.filter((e) => e.type === "rollout.progress")[0]?.t).toBe(3500); // progress still counted while paused
    expect(minInService(sim)).toBe(3);
  });

  it("pause, resume and promote are total: ended rollouts stay as they are", () => {
    const r = startRollout("web", 1, 2, 0);
    const p = pause(r);
    expect(p).toMatchObject({ status: "paused", reason: "paused by an operator" });
    expect(pause(p)).toBe(p);
    expect(resume(p, 50)).toMatchObject({ status: "running", reason: "", lastProgressAtMs: 50 });
    expect(resume(r, 50)).toBe(r);
    expect(promote(p, 60)).toMatchObject({ status: "paused", promoted: true });
    const promoted = promote(p, 60);
    expect(promote(promoted, 70)).toBe(promoted);
    const done: RolloutState = { ...r, status: "succeeded" };
    expect(pause(done)).toBe(done);
    expect(promote(done, 1)).toBe(done);
    const reverting = startRollout("web", 2, 1, 0, { autoReverted: true });
    expect(resume(pause(reverting), 5).status).toBe("reverting");
  });
});

describe("rollout: progressDeadline", () => {
  it("fails when no spare ever appears for a maxUnavailable 0 rollout, waking exactly at the deadline", () => {
    const sim = new Sim({ instances: 2, update: update({ maxUnavailable: 0, maxSurge: 1, progressDeadlineMs: 20_000, autoRevert: false }), spares: 0, from: 1, to: 2, startDelayMs: v2In2s });
    sim.settle();
    expect(sim.issued).toEqual([]);
    expect(sim.rollout.reason).toMatch(/waiting for a spare host/);
    expect(sim.lastResult?.wakeAtMs).toBe(20_000);
    sim.run();
    expect(sim.rollout.status).toBe("failed");
    expect(sim.rollout.reason).toMatch(/progressDeadline \(20s\)/);
    expect(sim.now).toBe(20_000);
    expect(sim.revisions()).toEqual([1, 1]);
  });

  it("fails a rollout whose slot on the new revision fell out of service for healthyDeadline, starting no batch meanwhile, and the revert brings the fleet back", () => {
    // Slot 0 is on v2 and in service at 3.5 s, then fails for good at 4 s; slot 1 is mid-batch.
    const sim = new Sim({
      instances: 3,
      update: update({ progressDeadlineMs: 20_000 }),
      spares: 0,
      from: 1,
      to: 2,
      startDelayMs: v2In2s,
      failures: [{ atMs: 4000, slot: 0, downForMs: 1_000_000 }],
    });
    expect(sim.run().stalled).toBe(false);
    const [failed, revert] = sim.rollouts;
    // Batch [1] (in flight already) is done at 7 s; no batch starts while slot 0 is out, and
    // 4 + 10 s (healthyDeadline) later the rollout fails — not progressDeadline (7 + 20 s).
    expect(failed).toMatchObject({ status: "failed", lastProgressAtMs: 7000 });
    expect(failed?.reason).toBe("slot 0 on revision 2 out of service (failed) for healthyDeadline (10s)");
    expect(sim.events.find((e) => e.type === "rollout.failed")?.t).toBe(14_000);
    expect(sim.events.filter((e) => e.type === "rollout.batch" && e.t < 14_000).map((e) => e.t)).toEqual([0, 3500]);
    expect(revert?.status).toBe("succeeded");
    expect(sim.revisions()).toEqual([1, 1, 1]);
    // The revert replaced the failed slot 0 first (free), then drained slot 1.
    expect(log(sim.issued).filter((l) => Number(l.split(" ")[0]) >= 14_000)).toEqual(["14000 replace 0→1", "17000 drain 1", "17500 replace 1→1"]);
    expect(Math.max(...sim.outAfterRolloutRemoval)).toBeLessThanOrEqual(1);
  });

  it("says why it waits while a slot on the new revision is out, and carries on once it is back", () => {
    // Slot 0 relapses at 4 s and is back (restarted, healthy) some 8 s later: within healthyDeadline.
    const sim = new Sim({ instances: 3, update: update(), spares: 0, from: 1, to: 2, startDelayMs: v2In2s, failures: [{ atMs: 4000, slot: 0, downForMs: 6000 }] });
    sim.run({ untilMs: 9000 });
    expect(sim.rollout.reason).toMatch(/^waiting for slot 0 on revision 2 to come back into service \(failed\): no new batch meanwhile; the rollout fails if it does not within healthyDeadline \(10s, until /);
    expect(sim.run().stalled).toBe(false);
    expect(sim.rollout.status).toBe("succeeded");
    expect(sim.rollouts).toHaveLength(1);
    expect(sim.revisions()).toEqual([2, 2, 2]);
  });
});

describe("rollout: slots failing on their own", () => {
  it("shrinks the next batch by the slots already out, replacing those in place for free", () => {
    const sim = new Sim({ instances: 4, update: update({ maxUnavailable: 2 }), spares: 0, from: 1, to: 2, startDelayMs: v2In2s, failures: [{ atMs: 1000, slot: 3, downForMs: 1_000_000 }] });
    expect(sim.run().stalled).toBe(false);
    expect(log(sim.issued)).toEqual(["0 drain 0", "0 drain 1", "500 replace 0→2", "500 replace 1→2", "3500 replace 3→2", "3500 drain 2", "4000 replace 2→2"]);
    expect(sim.rollout.status).toBe("succeeded");
    expect(sim.revisions()).toEqual([2, 2, 2, 2]);
    expect(Math.max(...sim.outAfterRolloutRemoval)).toBeLessThanOrEqual(2);
  });

  it("drains none while a failure already uses the whole budget", () => {
    const sim = new Sim({ instances: 4, update: update(), spares: 0, from: 1, to: 2, startDelayMs: v2In2s, failures: [{ atMs: 1000, slot: 3, downForMs: 1_000_000 }] });
    sim.run({ untilMs: 3500 });
    expect(log(sim.issued)).toEqual(["0 drain 0", "500 replace 0→2", "3500 replace 3→2"]);
    expect(sim.rollout.batch?.slots).toEqual([3]);
    expect(sim.run().stalled).toBe(false);
    expect(sim.revisions()).toEqual([2, 2, 2, 2]);
    expect(Math.max(...sim.outAfterRolloutRemoval)).toBeLessThanOrEqual(1);
  });
});

function slot(n: number, revision: number, o: Partial<SlotView> = {}): SlotView {
  return { slot: n, revision, phase: "in-service", healthySinceMs: -100_000, drainingSinceMs: null, surge: null, ...o };
}

describe("rollout: idempotence", () => {
  const base = (slots: SlotView[], nowMs: number, rollout: RolloutState): NextStepInput => ({ rollout, update: update(), instances: slots.length, slots, spareHosts: 0, nowMs });

  it("issues each action once while its effect is not visible yet", () => {
    const views = [slot(0, 1), slot(1, 1), slot(2, 1)];
    const first = nextStep(base(views, 0, startRollout("web", 1, 2, 0)));
    expect(first.actions).toEqual([{ kind: "drain", slot: 0 }]);
    expect(first.rollout.batch).toMatchObject({ slots: [0], startedAtMs: 0, issued: [{ slot: 0, kind: "drain" }] });
    // The shell's views still show slot 0 in service: nothing new, even later.
    expect(nextStep(base(views, 0, first.rollout)).actions).toEqual([]);
    expect(nextStep(base(views, 400, first.rollout)).actions).toEqual([]);
    // The drain shows; at its end the replacement is issued, once.
    const drained = [slot(0, 1, { phase: "draining", drainingSinceMs: 0 }), slot(1, 1), slot(2, 1)];
    expect(nextStep(base(drained, 499, first.rollout)).actions).toEqual([]);
    const second = nextStep(base(drained, 500, first.rollout));
    expect(second.actions).toEqual([{ kind: "replace", slot: 0, revision: 2 }]);
    expect(nextStep(base(drained, 500, second.rollout)).actions).toEqual([]);
    expect(nextStep(base(drained, 900, second.rollout)).actions).toEqual([]);
    // Same input, same output: pure.
    expect(nextStep(base(drained, 500, first.rollout))).toEqual(second);
  });

  it("survives agents that report late: every call is repeated, and the result is the worked example's", () => {
    const sim = new Sim({ instances: 4, update: update(), spares: 1, from: 1, to: 2, startDelayMs: v2In2s, agentLagMs: 700 });
    expect(sim.run().stalled).toBe(false);
    expect(sim.rollout.status).toBe("succeeded");
    expect(sim.issued).toHaveLength(8);
    expect(minInService(sim)).toBe(3);
  });
});

describe("rollout: the leftovers of failed and superseded rollouts", () => {
  const input = (slots: SlotView[], rollout: RolloutState, nowMs: number, spareHosts = 0): NextStepInput => ({ rollout, update: update(), instances: slots.length, slots, spareHosts, nowMs });

  it("a failed rollout brings a copy it drained back on its own revision after drainTime", () => {
    const r: RolloutState = {
      ...startRollout("web", 1, 2, 0),
      lastProgressAtMs: 0,
      batch: { slots: [0], startedAtMs: 59_800, viaSpare: [], issued: [{ slot: 0, kind: "drain" }], done: [] },
    };
    const views = [slot(0, 1, { phase: "draining", drainingSinceMs: 59_800 }), slot(1, 1)];
    const failing = nextStep({ ...input(views, r, 60_000), update: update({ autoRevert: false }) });
    expect(failing.rollout.status).toBe("failed");
    expect(failing.actions).toEqual([]);
    expect(failing.wakeAtMs).toBe(60_300);
    const unwound = nextStep({ ...input(views, failing.rollout, 60_300), update: update({ autoRevert: false }) });
    expect(unwound.actions).toEqual([{ kind: "replace", slot: 0, revision: 1 }]);
    expect(nextStep({ ...input(views, unwound.rollout, 60_300), update: update({ autoRevert: false }) }).actions).toEqual([]);
  });

  it("a revert that fails before its first batch still brings back the copy the failed rollout drained", () => {
    // The property test's counterexample (seed 585991156): 1 → 2 drains slot 0 and fails before
    // drainTime ends; the revert 2 → 1 waits on slot 1 (failed on its own) and fails with no batch,
    // so no batch of either rollout held slot 0 any more, and it stayed draining for good.
    const sim = new Sim({
      instances: 2,
      update: update({ maxUnavailable: 1, maxSurge: 0, minHealthyTimeMs: 0, healthyDeadlineMs: 1, progressDeadlineMs: 2, canary: 0, autoRevert: true, drainTimeMs: 3 }),
      spares: 0,
      from: 1,
      to: 2,
      startDelayMs: () => 0,
      agentLagMs: 0,
      failures: [{ atMs: 0, slot: 1, downForMs: 4 }],
      promoteAfterMs: 0,
    });
    expect(sim.run({ maxIterations: 3000 }).stalled).toBe(false);
    expect(sim.rollouts.map((r) => `${r.fromRevision}→${r.toRevision} ${r.status}`)).toEqual(["1→2 failed", "2→1 failed"]);
    expect(sim.views().filter((v) => v.phase === "draining")).toEqual([]);
    expect(log(sim.issued)).toContain("3 replace 0→1");
  });

  it("a failed rollout keeps a surge copy that alone carries its slot, whose own copy failed, as the slot's copy", () => {
    // The property test's counterexample (seed -1296255295): slot 0's serving copy fails as its surge
    // copy turns healthy; the rollout fails on slot 2 at that moment (2156), and cancelling the surge
    // copy then would leave slots 0 and 2 out with maxUnavailable 1. The failed copy does not come
    // back while the surge copy stands (the planner places it again only once its slot has no moveTo).
    const old = [0, 0, 0];
    const nw = [2056, 0, 627];
    const sim = new Sim({
      instances: 3,
      update: update({ maxUnavailable: 1, maxSurge: 2, minHealthyTimeMs: 0, healthyDeadlineMs: 726, progressDeadlineMs: 1530, canary: 0, autoRevert: false, drainTimeMs: 1430 }),
      spares: 2,
      from: 1,
      to: 2,
      startDelayMs: (rev, s) => (rev === 1 ? old[s] : nw[s]) ?? 0,
      agentLagMs: 100,
      failures: [{ atMs: 0, slot: 0, downForMs: 2157 }],
    });
    expect(sim.run({ maxIterations: 3000 }).stalled).toBe(false);
    expect(sim.rollout).toMatchObject({ status: "failed", reason: expect.stringMatching(/slot 2 not in service/) });
    expect(log(sim.issued).filter((l) => /cancel|retire/.test(l))).toEqual(["100 retire 1", "2156 retire 0"]);
    for (const out of sim.outAfterRolloutRemoval) expect(out).toBeLessThanOrEqual(1);
    expect(sim.views().filter((v) => v.surge !== null)).toEqual([]);
    expect(sim.revisions()).toEqual([2, 2, 2]);
    expect(sim.spares).toBe(2);
  });

  describe("a failed rollout's surge copy that alone carries its slot (its own copy fell out)", () => {
    // Slots 0 and 1 surged onto spares; their own copies fell out (unhealthy), their surge copies serve.
    const carried = (): SlotView[] => [
      slot(0, 1, { phase: "unhealthy", healthySinceMs: null, surge: { revision: 2, phase: "in-service", healthySinceMs: 0 } }),
      slot(1, 1, { phase: "unhealthy", healthySinceMs: null, surge: { revision: 2, phase: "in-service", healthySinceMs: 0 } }),
      slot(2, 1),
    ];
    const failed: RolloutState = { ...startRollout("web", 1, 2, 0), status: "failed", reason: "x", endedAtMs: 50_000, batch: { slots: [0, 1], startedAtMs: 0, viaSpare: [0, 1], issued: [{ slot: 0, kind: "surge" }, { slot: 1, kind: "surge" }], done: [] } };
    const at = (slots: SlotView[], rollout: RolloutState, o: Partial<NextStepInput> = {}): NextStepInput => ({ rollout, update: update({ maxUnavailable: 1, maxSurge: 2, autoRevert: false }), instances: 3, slots, spareHosts: 0, nowMs: 60_000, ...o });

    it("is kept as the slot's copy (a retire takes nothing out), once, even during a new leader's hold; one that does not carry is cancelled", () => {
      const first = nextStep(at(carried(), failed, { takeOutFromMs: 65_000 }));
      expect(first.actions).toEqual([
        { kind: "retire", slot: 0 },
        { kind: "retire", slot: 1 },
      ]);
      expect(nextStep(at(carried(), first.rollout)).actions).toEqual([]);
      // Slot 1's own copy back in service: its surge copy carries nothing, and goes.
      const back = carried().map((v) => (v.slot === 1 ? { ...v, phase: "in-service" as const, healthySinceMs: -100_000 } : v));
      expect(nextStep(at(back, failed)).actions).toEqual([
        { kind: "retire", slot: 0 },
        { kind: "cancel", slot: 1 },
      ]);
    });

    it("on a simulated fleet: two carried slots when the rollout fails, each repeated call idempotent (the sim checks it)", () => {
      const sim = new Sim({
        instances: 3,
        update: update({ maxUnavailable: 2, maxSurge: 2, minHealthyTimeMs: 1000, healthyDeadlineMs: 5000, drainTimeMs: 500, progressDeadlineMs: 60_000, autoRevert: false }),
        spares: 2,
        from: 1,
        to: 2,
        startDelayMs: (rev, s) => (rev === 1 ? 0 : s === 2 ? "never" : 4500),
        agentLagMs: 0,
        failures: [
          { atMs: 1000, slot: 0, downForMs: 10_000 },
          { atMs: 1000, slot: 1, downForMs: 10_000 },
        ],
      });
      expect(sim.run({ maxIterations: 3000 }).stalled).toBe(false);
      expect(sim.rollout.status).toBe("failed");
      for (const out of sim.outAfterRolloutRemoval) expect(out).toBeLessThanOrEqual(2);
      expect(sim.views().filter((v) => v.surge !== null || v.phase === "draining")).toEqual([]);
    });
  });

  it("a new rollout cancels a stale surge copy without touching the serving copy, and restarts a copy left drained", () => {
    const views = [
      slot(0, 1, { surge: { revision: 2, phase: "unhealthy", healthySinceMs: null } }),
      slot(1, 1, { phase: "draining", drainingSinceMs: -1000 }),
      slot(2, 1),
    ];
    // A revert 2 → 1 finds what the failed rollout to 2 left: a surge copy of 2 and a drained copy.
    const out = nextStep(input(views, startRollout("web", 2, 1, 0, { autoReverted: true }), 0));
    expect(out.actions).toEqual([
      { kind: "cancel", slot: 0 },
      { kind: "replace", slot: 1, revision: 1 },
    ]);
    // Neither costs availability: slot 2 stays untouched, and with the budget left nothing else needs work.
    expect(out.rollout.batch?.slots).toEqual([0, 1]);
  });

  it("a stale surge copy that alone carries its slot is cancelled on the unavailability budget, never on a spare", () => {
    // A rollout 1 → 3 over one to 2 it superseded: slot 0's own copy unhealthy and its surge copy of 2 serving; slot 2 out on its own.
    const views = [slot(0, 1, { phase: "unhealthy", healthySinceMs: null, surge: { revision: 2, phase: "in-service", healthySinceMs: 0 } }), slot(1, 1), slot(2, 1, { phase: "unhealthy", healthySinceMs: null })];
    const r = startRollout("web", 1, 3, 0);
    const u = update({ maxUnavailable: 1, maxSurge: 2 });
    // Slot 2 is free to replace (out already); the spare goes to slot 1; slot 0 waits for budget.
    expect(nextStep({ rollout: r, update: u, instances: 3, slots: views, spareHosts: 1, nowMs: 0 }).actions).toEqual([
      { kind: "replace", slot: 2, revision: 3 },
      { kind: "surge", slot: 1, revision: 3 },
    ]);
    // Slot 2 back in service: the budget takes slot 0.
    const back = views.map((v) => (v.slot === 2 ? slot(2, 1) : v));
    expect(nextStep({ rollout: r, update: u, instances: 3, slots: back, spareHosts: 1, nowMs: 0 }).actions).toEqual([
      { kind: "cancel", slot: 0 },
      { kind: "surge", slot: 1, revision: 3 },
    ]);
  });

  it("a stale surge copy that carries nothing takes a spare with maxUnavailable 0: cancelling it costs nothing", () => {
    const u = update({ maxUnavailable: 0, maxSurge: 2 });
    const views = [slot(0, 1, { surge: { revision: 2, phase: "unhealthy", healthySinceMs: null } }), slot(1, 3)];
    expect(nextStep({ rollout: startRollout("web", 1, 3, 0), update: u, instances: 2, slots: views, spareHosts: 1, nowMs: 0 }).actions).toEqual([{ kind: "cancel", slot: 0 }]);
  });

  it("a revert does not count a crash-looped copy being retired away as a relapse (its drainTime may pass healthyDeadline)", () => {
    // Slot 0: its own copy (revision 1) crash-looped; the failed rollout's unwind retired its surge copy of 2 into it.
    const views = [slot(0, 1, { phase: "failed", healthySinceMs: null, drainingSinceMs: 0, surge: { revision: 2, phase: "in-service", healthySinceMs: -50_000 } }), slot(1, 2), slot(2, 2)];
    const u = update({ maxUnavailable: 1, maxSurge: 1, drainTimeMs: 120_000, healthyDeadlineMs: 10_000, progressDeadlineMs: 600_000 });
    const first = nextStep({ rollout: startRollout("web", 2, 1, 0, { autoReverted: true }), update: u, instances: 3, slots: views, spareHosts: 1, nowMs: 0 });
    const later = nextStep({ rollout: first.rollout, update: u, instances: 3, slots: views, spareHosts: 1, nowMs: 10_000 });
    expect(later.rollout.status).toBe("reverting");
  });

  it("leaves a host-drain move alone until it finishes", () => {
    const views = [slot(0, 1, { surge: { revision: 1, phase: "starting", healthySinceMs: null } }), slot(1, 2)];
    const out = nextStep(input(views, startRollout("web", 1, 2, 0), 0, 1));
    expect(out.actions).toEqual([]);
    expect(out.rollout.reason).toMatch(/waiting/);
  });
});

describe("rollout: picking a batch", () => {
  it("takes slots out already for free, then spares, then the unavailability budget (pickBatch's worked example)", () => {
    const views = [slot(0, 1), slot(1, 1), slot(2, 1), slot(3, 1, { phase: "failed", healthySinceMs: null }), slot(4, 1)];
    const out = nextStep({ rollout: startRollout("web", 1, 2, 0), update: update({ maxUnavailable: 2, maxSurge: 1 }), instances: 5, slots: views, spareHosts: 1, nowMs: 0 });
    expect(out.rollout.batch).toMatchObject({ slots: [3, 0, 1], viaSpare: [0] });
    expect(out.actions).toEqual([
      { kind: "replace", slot: 3, revision: 2 },
      { kind: "surge", slot: 0, revision: 2 },
      { kind: "drain", slot: 1 },
    ]);
    const healthy = views.map((v) => (v.slot === 3 ? slot(3, 1) : v));
    const full = nextStep({ rollout: startRollout("web", 1, 2, 0), update: update({ maxUnavailable: 2, maxSurge: 1 }), instances: 5, slots: healthy, spareHosts: 1, nowMs: 0 });
    expect(full.rollout.batch).toMatchObject({ slots: [0, 1, 2], viaSpare: [0] });
  });

  it("caps a canary batch at the canary count", () => {
    const views = [slot(0, 1), slot(1, 1), slot(2, 1), slot(3, 1)];
    const out = nextStep({ rollout: startRollout("web", 1, 2, 0), update: update({ maxUnavailable: 3, canary: 2 }), instances: 4, slots: views, spareHosts: 0, nowMs: 0 });
    expect(out.rollout.batch?.slots).toEqual([0, 1]);
  });
});

describe("endpoints", () => {
  it("lists slots whose serving or surge copy is in service", () => {
    expect(
      endpoints([
        slot(3, 1),
        slot(0, 1, { phase: "draining", drainingSinceMs: 0, surge: { revision: 2, phase: "in-service", healthySinceMs: 0 } }),
        slot(1, 2, { phase: "warming" }),
        slot(2, 1, { phase: "failed" }),
      ]),
    ).toEqual([0, 3]);
  });
});
