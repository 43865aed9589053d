import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  DEFAULT_RESTART_POLICY,
  describeExit,
  nextRestart,
  type RestartPolicy,
  type RestartState,
} from "../../../agent/supervisor/restart-policy.js";

const noJitter = (): number => 0;
const fullJitter = (): number => 1;
const crash = { code: 1, signal: null };

/** A quick exit: ran 100 ms, decided the moment it exited. */
function quick(failures: number, at = 1_000_000): RestartState {
  return { failures, lastStartMs: at - 100, lastExitMs: at };
}

describe("nextRestart", () => {
  it("grows the delay from 1 s by ×2 per consecutive quick failure, capped at 30 s", () => {
    const delays: number[] = [];
    let failures = 0;
    for (let i = 0; i < 10; i++) {
      const d = nextRestart(quick(failures), crash, 1_000_000, DEFAULT_RESTART_POLICY, noJitter);
      if (d.action !== "restart") throw new Error(`gave up after ${i} failures`);
      delays.push(d.delayMs);
      failures = d.failures;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000]);
    expect(failures).toBe(10);
  });

  it("gives up on the 11th consecutive quick failure, saying how it exited and how often", () => {
    const d = nextRestart(quick(10), crash, 1_000_000, DEFAULT_RESTART_POLICY, noJitter);
    expect(d).toEqual({
      action: "fail",
      failures: 11,
      reason: "exited with code 1 after 100ms: 11 times in a row, each within 30s of starting",
    });
  });

  it("resets the count after a stable run: the next delay is the initial one again", () => {
    const ranLong: RestartState = { failures: 9, lastStartMs: 0, lastExitMs: 30_000 };
    const d = nextRestart(ranLong, { code: null, signal: "SIGSEGV" }, 30_000, DEFAULT_RESTART_POLICY, noJitter);
    expect(d).toEqual({
      action: "restart",
      delayMs: 1000,
      failures: 0,
      reason: "killed by SIGSEGV after 30s (ran stable, failure count reset)",
    });
    // 29.999 s is not stable.
    const short = nextRestart({ ...ranLong, lastExitMs: 29_999 }, crash, 29_999, DEFAULT_RESTART_POLICY, noJitter);
    expect(short.failures).toBe(10);
  });

  it("counts a clean exit (code 0) like any other: a service is not meant to finish", () => {
    const d = nextRestart(quick(0), { code: 0, signal: null }, 1_000_000, DEFAULT_RESTART_POLICY, noJitter);
    expect(d).toMatchObject({ action: "restart", failures: 1, reason: "exited with code 0 after 100ms (restart 1 of 10)" });
  });

  it("takes off the time already waited since the exit (a re-derived decision never waits twice)", () => {
    const d = nextRestart(quick(2), crash, 1_000_000 + 1_500, DEFAULT_RESTART_POLICY, noJitter);
    expect(d).toMatchObject({ action: "restart", delayMs: 2_500 });
    const late = nextRestart(quick(2), crash, 1_000_000 + 60_000, DEFAULT_RESTART_POLICY, noJitter);
    expect(late).toMatchObject({ action: "restart", delayMs: 0 });
  });

  it("applies jitter downwards only: full jitter 0.2 gives 80 % of the delay", () => {
    const d = nextRestart(quick(3), crash, 1_000_000, DEFAULT_RESTART_POLICY, fullJitter);
    expect(d).toMatchObject({ action: "restart", delayMs: 6_400 });
  });

  it("describes exits by code, signal, or as unknown (an adopted process)", () => {
    expect(describeExit({ code: 2, signal: null })).toBe("exited with code 2");
    expect(describeExit({ code: null, signal: "SIGKILL" })).toBe("killed by SIGKILL");
    expect(describeExit({ code: null, signal: null })).toBe("exited (status unknown)");
  });
});

describe("nextRestart properties", () => {
  const policyArb: fc.Arbitrary<RestartPolicy> = fc.record({
    initialMs: fc.integer({ min: 0, max: 10_000 }),
    maxMs: fc.integer({ min: 0, max: 120_000 }),
    factor: fc.double({ min: 1, max: 4, noNaN: true }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
    stableAfterMs: fc.integer({ min: 1, max: 120_000 }),
    maxQuickFailures: fc.integer({ min: 0, max: 20 }),
  });
  const stateArb = fc
    .record({
      failures: fc.integer({ min: 0, max: 50 }),
      lastStartMs: fc.integer({ min: 0, max: 1e12 }),
      ranMs: fc.integer({ min: 0, max: 200_000 }),
      waitedMs: fc.integer({ min: 0, max: 200_000 }),
    })
    .map((s) => ({ state: { failures: s.failures, lastStartMs: s.lastStartMs, lastExitMs: s.lastStartMs + s.ranMs }, waitedMs: s.waitedMs }));
  const exitArb = fc.record({
    code: fc.option(fc.integer({ min: 0, max: 255 })),
    signal: fc.option(fc.constantFrom("SIGKILL", "SIGTERM", "SIGSEGV")),
  });
  const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  it("never waits longer than the cap, nor less than zero", () => {
    fc.assert(
      fc.property(policyArb, stateArb, exitArb, randomArb, (policy, { state, waitedMs }, exit, r) => {
        const d = nextRestart(state, exit, state.lastExitMs + waitedMs, policy, () => r);
        if (d.action === "restart") {
          expect(d.delayMs).toBeGreaterThanOrEqual(0);
          expect(d.delayMs).toBeLessThanOrEqual(Math.max(policy.maxMs, 0));
        }
      }),
    );
  });

  it("fails exactly when quick failures exceed the limit; a stable run always restarts with the count at 0", () => {
    fc.assert(
      fc.property(policyArb, stateArb, exitArb, (policy, { state }, exit) => {
        const d = nextRestart(state, exit, state.lastExitMs, policy, noJitter);
        const stable = state.lastExitMs - state.lastStartMs >= policy.stableAfterMs;
        if (stable) {
          expect(d).toMatchObject({ action: "restart", failures: 0 });
        } else {
          expect(d.failures).toBe(state.failures + 1);
          expect(d.action).toBe(state.failures + 1 > policy.maxQuickFailures ? "fail" : "restart");
        }
      }),
    );
  });

  it("without jitter, the delay never shrinks as quick failures add up", () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 0, max: 30 }), (policy, failures) => {
        const p = { ...policy, maxQuickFailures: 100 };
        const a = nextRestart(quick(failures), crash, 1_000_000, p, noJitter);
        const b = nextRestart(quick(failures + 1), crash, 1_000_000, p, noJitter);
        if (a.action !== "restart" || b.action !== "restart") throw new Error("unexpected fail");
        fc.pre(p.stableAfterMs > 100);
        expect(b.delayMs).toBeGreaterThanOrEqual(a.delayMs);
      }),
    );
  });

  it("jitter keeps the delay within [d·(1−jitter), d] of the jitter-free delay", () => {
    fc.assert(
      fc.property(policyArb, stateArb, exitArb, randomArb, (policy, { state }, exit, r) => {
        const plain = nextRestart(state, exit, state.lastExitMs, policy, noJitter);
        const jittered = nextRestart(state, exit, state.lastExitMs, policy, () => r);
        fc.pre(plain.action === "restart" && jittered.action === "restart");
        expect(jittered.delayMs).toBeLessThanOrEqual(plain.delayMs);
        expect(jittered.delayMs).toBeGreaterThanOrEqual(Math.floor(plain.delayMs * (1 - policy.jitter)) - 1);
      }),
    );
  });
});
