/**
 * Rollout invariants on generated fleets, updates and timings (STYLE.md: Nomad's
 * reconcile_cluster_prop_test.go), run on the simulator in sim.ts. Every nextStep
 * call there is also repeated to check idempotence.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { UpdateSpec } from "../../../shared/spec/types.js";
import { Sim, type SimOptions } from "./sim.js";

const RUNS = { numRuns: 300 };
const SLOTS = 6;

interface Case {
  /** The start delays by slot, as data: a counterexample shows them (startDelayMs prints as source). */
  delays: { old: number[]; new: (number | "never")[] };
  opts: SimOptions;
  /** A bound on the simulated time to the end: see `timeBound`. */
  boundMs: number;
}

type Failure = NonNullable<SimOptions["failures"]>[number];

/** Up to 3 serving copies failing on their own (crashes, or health checks failing for a while), each back after downForMs. */
const failuresArb: fc.Arbitrary<Failure[]> = fc.array(
  fc.record({ atMs: fc.integer({ min: 0, max: 30_000 }), slot: fc.integer({ min: 0, max: SLOTS - 1 }), downForMs: fc.integer({ min: 0, max: 20_000 }), transient: fc.boolean() }),
  { maxLength: 3 },
);

/**
 * Update settings the schema accepts: maxUnavailable + maxSurge ≥ 1, minHealthyTime < healthyDeadline < progressDeadline,
 * canary ≤ instances; and also progressDeadline ≤ healthyDeadline + drainTime, which the schema refuses since, but a
 * spec stored before may hold (the machine must keep its properties on those too).
 */
const caseArb = (o: { failures: boolean }): fc.Arbitrary<Case> =>
  fc
    .record({
      instances: fc.integer({ min: 1, max: SLOTS }),
      maxUnavailable: fc.integer({ min: 0, max: 3 }),
      maxSurge: fc.integer({ min: 0, max: 2 }),
      spares: fc.integer({ min: 0, max: 2 }),
      minHealthyTimeMs: fc.integer({ min: 0, max: 2000 }),
      drainTimeMs: fc.integer({ min: 0, max: 1500 }),
      healthySlackMs: fc.integer({ min: 1, max: 20_000 }),
      progressSlackMs: fc.integer({ min: 1, max: 20_000 }),
      canary: fc.integer({ min: 0, max: SLOTS }),
      autoRevert: fc.boolean(),
      agentLagMs: fc.constantFrom(0, 0, 100, 700),
      // Start delays of the old revision (always gets healthy) and the new one (may never).
      oldDelays: fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: SLOTS, maxLength: SLOTS }),
      // Mostly a new revision that works (often in time, sometimes not), else one where some or all copies never get healthy.
      newDelays: fc.oneof(
        { weight: 3, arbitrary: fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: SLOTS, maxLength: SLOTS }) },
        { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer({ min: 0, max: 6000 }), fc.constant<"never">("never")), { minLength: SLOTS, maxLength: SLOTS }) },
      ),
      pause: fc.option(fc.record({ atMs: fc.integer({ min: 0, max: 20_000 }), forMs: fc.integer({ min: 0, max: 90_000 }) }), { nil: undefined }),
      promoteAfterMs: fc.integer({ min: 0, max: 30_000 }),
      failures: o.failures ? failuresArb : fc.constant<Failure[]>([]),
    })
    .filter((g) => g.maxUnavailable + g.maxSurge >= 1)
    .map((g): Case => {
      const healthyDeadlineMs = g.minHealthyTimeMs + g.healthySlackMs;
      const update: UpdateSpec = {
        maxUnavailable: g.maxUnavailable,
        maxSurge: g.maxSurge,
        minHealthyTimeMs: g.minHealthyTimeMs,
        healthyDeadlineMs,
        progressDeadlineMs: healthyDeadlineMs + g.progressSlackMs,
        canary: Math.min(g.canary, g.instances),
        autoRevert: g.autoRevert,
        drainTimeMs: g.drainTimeMs,
      };
      const opts: SimOptions = {
        instances: g.instances,
        update,
        spares: g.spares,
        from: 1,
        to: 2,
        startDelayMs: (rev, slot) => (rev === 1 ? g.oldDelays[slot] : g.newDelays[slot]) ?? 0,
        agentLagMs: g.agentLagMs,
        failures: g.failures.filter((f) => f.slot < g.instances),
        promoteAfterMs: g.promoteAfterMs,
      };
      if (g.pause) opts.pauses = [{ atMs: g.pause.atMs, resumeAtMs: g.pause.atMs + g.pause.forMs }];
      return { delays: { old: g.oldDelays.slice(0, g.instances), new: g.newDelays.slice(0, g.instances) }, opts, boundMs: timeBound(update, g.instances, g.pause?.forMs ?? 0, g.promoteAfterMs, g.failures) };
    });

/**
 * While a rollout may move, a slot newly done restarts its progressDeadline, so it
 * ends within (instances + 1) progress deadlines plus the time it was paused or
 * waiting for promotion, plus a failure's downtime (a failure can hold the budget).
 * There are at most two rollouts (a revert is never reverted); the last one may
 * still unwind or settle for a drain, a start and minHealthyTime.
 */
function timeBound(u: UpdateSpec, instances: number, pausedMs: number, promoteAfterMs: number, failures: { atMs: number; downForMs: number }[]): number {
  const down = failures.reduce((s, f) => s + f.atMs + f.downForMs, 0);
  const one = (instances + 1) * u.progressDeadlineMs + pausedMs + promoteAfterMs;
  return 2 * one + down + u.drainTimeMs + 8000 + u.minHealthyTimeMs + 1000;
}

function runCase(c: Case): Sim {
  const sim = new Sim(c.opts);
  const { stalled, iterations } = sim.run({ maxIterations: 3000 });
  expect(stalled).toBe(false);
  expect(iterations).toBeLessThan(3000);
  // It ends: succeeded or failed, no revert left pending, within the bound.
  expect(["succeeded", "failed"]).toContain(sim.rollout.status);
  expect(sim.rollouts.length).toBeLessThanOrEqual(2);
  expect(sim.now).toBeLessThanOrEqual(c.boundMs);
  if (sim.rollout.status === "succeeded") expect(new Set(sim.revisions())).toEqual(new Set([sim.rollout.toRevision]));
  // It leaves nothing behind, succeeded or failed: no copy left drained, no surge copy on a spare.
  expect(sim.views().filter((v) => v.phase === "draining" || v.surge !== null)).toEqual([]);
  expect(sim.spares).toBe(c.opts.spares);
  // Never more surge copies than maxSurge.
  expect(sim.maxSurgeCopies).toBeLessThanOrEqual(c.opts.update.maxSurge);
  return sim;
}

describe("nextStep: properties", () => {
  it("never has more than maxUnavailable slots out of the endpoints, at any simulated moment, and ends", () => {
    fc.assert(
      fc.property(caseArb({ failures: false }), (c) => {
        const sim = runCase(c);
        const floor = c.opts.instances - c.opts.update.maxUnavailable;
        for (const s of sim.samples) expect(s.inService, `t=${s.t} (${s.status})`).toBeGreaterThanOrEqual(floor);
      }),
      RUNS,
    );
  });

  it("with slots failing on their own, never takes one out when that leaves more than maxUnavailable out, and ends", () => {
    fc.assert(
      fc.property(caseArb({ failures: true }), (c) => {
        const sim = runCase(c);
        for (const out of sim.outAfterRolloutRemoval) expect(out).toBeLessThanOrEqual(c.opts.update.maxUnavailable);
      }),
      RUNS,
    );
  });
});
