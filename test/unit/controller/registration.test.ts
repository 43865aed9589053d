import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { afterStep, MAX_STEPS_PER_ROUND, nextRoundDelayMs, registrationStep, registrationTimings, type RegistrationView } from "../../../controller/member/registration.js";

const want = JSON.stringify({ id: "c1", address: "10.0.0.1:7420", startedAtMs: 1 });

/**
 * A fake etcd for the pure steps: which leases live, and what the member's key holds.
 * Each step the decision asks for is answered from it, as the shell's calls would be.
 */
function settle(world: { leases: Set<string>; key: { value: string; lease: string } | null; nextLease: number }, leaseId: string | undefined): { view: RegistrationView; steps: string[] } {
  let v: RegistrationView = { leaseId, want };
  const steps: string[] = [];
  for (let i = 0; i < MAX_STEPS_PER_ROUND; i++) {
    const s = registrationStep(v);
    steps.push(s.type);
    switch (s.type) {
      case "done":
        return { view: v, steps };
      case "grant": {
        const id = String(world.nextLease++);
        world.leases.add(id);
        v = afterStep(v, { type: "granted", leaseId: id });
        break;
      }
      case "keep-alive":
        v = afterStep(v, { type: "kept-alive", ttlSec: world.leases.has(s.leaseId) ? 3 : 0 });
        break;
      case "read":
        v = afterStep(v, { type: "read", key: world.key && world.leases.has(world.key.lease) ? world.key : null });
        break;
      case "put":
        world.key = { value: want, lease: s.leaseId };
        v = afterStep(v, { type: "put" });
        break;
    }
  }
  throw new Error(`did not settle: ${steps.join(",")}`);
}

describe("a member's registration, round by round", () => {
  it("first round: grant, read (missing), put, read back, done", () => {
    const world = { leases: new Set<string>(), key: null, nextLease: 7 };
    const { view, steps } = settle(world, undefined);
    expect(steps).toEqual(["grant", "read", "put", "read", "done"]);
    expect(view.leaseId).toBe("7");
    expect(world.key).toEqual({ value: want, lease: "7" });
  });

  it("registered: a round is a keep-alive and a read", () => {
    const world = { leases: new Set(["7"]), key: { value: want, lease: "7" }, nextLease: 8 };
    expect(settle(world, "7").steps).toEqual(["keep-alive", "read", "done"]);
  });

  it("the lease expired (a partition longer than its TTL): a new lease, the key put under it", () => {
    const world = { leases: new Set<string>(), key: { value: want, lease: "7" }, nextLease: 8 };
    const { view, steps } = settle(world, "7");
    expect(steps).toEqual(["keep-alive", "grant", "read", "put", "read", "done"]);
    expect(view.leaseId).toBe("8");
  });

  it("the key gone while the lease lives (the failure quorum.test.ts hit: a put that failed was never tried again): put again", () => {
    const world = { leases: new Set(["7"]), key: null, nextLease: 8 };
    expect(settle(world, "7").steps).toEqual(["keep-alive", "read", "put", "read", "done"]);
  });

  it("the key under another lease, or holding another record: put again", () => {
    expect(registrationStep({ leaseId: "7", keptAliveTtlSec: 3, key: { value: want, lease: "6" }, want })).toMatchObject({ type: "put", leaseId: "7" });
    expect(registrationStep({ leaseId: "7", keptAliveTtlSec: 3, key: { value: "{}", lease: "7" }, want })).toMatchObject({ type: "put", leaseId: "7" });
  });

  it("a put is never taken as done: the key is read back first", () => {
    const v = afterStep({ leaseId: "7", keptAliveTtlSec: 3, key: null, want }, { type: "put" });
    expect(registrationStep(v)).toEqual({ type: "read" });
  });

  it("property: from any lease and any key, a round ends with the key read back under a live lease", () => {
    fc.assert(
      fc.property(fc.option(fc.constantFrom("1", "2", "3"), { nil: undefined }), fc.subarray(["1", "2", "3"]), fc.option(fc.record({ value: fc.constantFrom(want, "{}"), lease: fc.constantFrom("1", "2", "3") }), { nil: null }), (held, live, key) => {
        const world = { leases: new Set(live), key, nextLease: 10 };
        const { view } = settle(world, held);
        expect(view.leaseId).toBeDefined();
        expect(world.leases.has(view.leaseId!)).toBe(true);
        expect(world.key).toEqual({ value: want, lease: view.leaseId });
      }),
    );
  });
});

describe("registration timings", () => {
  it("TTL 3 s: a 3 s lease, a round a second, a second for each call", () => {
    expect(registrationTimings(3_000)).toEqual({ leaseTtlSec: 3, everyMs: 1_000, callBudgetMs: 1_000, retryFirstMs: 100 });
    expect(registrationTimings(500).leaseTtlSec).toBe(2);
  });

  it("after failures: soon, doubling, never past a round's period; jittered", () => {
    const t = registrationTimings(3_000);
    expect([1, 2, 3, 4, 5, 30].map((n) => nextRoundDelayMs(t, n, 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(nextRoundDelayMs(t, 1, 0)).toBe(50);
    expect(nextRoundDelayMs(t, 0, 0)).toBe(800);
    expect(nextRoundDelayMs(t, 0, 0.999999)).toBe(1000);
  });
});
