import { describe, expect, it } from "vitest";
import { StoreHealth, probeTimings } from "../../../controller/store/store-health.js";

/** A clock the test moves: wall = mono + 1 000 000. */
function clock(): { mono: () => number; now: () => number; at: (ms: number) => void } {
  let t = 0;
  return { mono: () => t, now: () => t + 1_000_000, at: (ms) => void (t = ms) };
}

describe("StoreHealth (injected clock)", () => {
  it("starts reachable, from its creation", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    expect(h.state()).toEqual({ ok: true, sinceMs: 1_000_000 });
  });

  it("one failed call is not an outage: reachable until nothing succeeded for unavailableAfterMs", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    c.at(500);
    h.succeeded(500);
    c.at(900);
    expect(h.failed("deadline exceeded", 600)).toBeUndefined();
    expect(h.state().ok).toBe(true);
    c.at(1_499);
    expect(h.tick()).toBeUndefined();
    expect(h.state().ok).toBe(true);
  });

  it("lost once no call succeeded for unavailableAfterMs and one failed: since the first failed call's start", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    h.succeeded(0);
    c.at(800);
    expect(h.failed("no leader", 300)).toBeUndefined();
    c.at(950);
    expect(h.failed("request timed out", 600)).toBeUndefined();
    c.at(1_500);
    // The first failure after the last success is when it went: 300.
    const lost = h.tick();
    expect(lost).toEqual({ type: "lost", sinceMs: 1_000_300, error: "request timed out" });
    expect(h.state()).toEqual({ ok: false, sinceMs: 1_000_300, error: "request timed out" });
    // Said once.
    c.at(3_000);
    expect(h.tick()).toBeUndefined();
    expect(h.failed("still", 2_500)).toBeUndefined();
    expect(h.state()).toEqual({ ok: false, sinceMs: 1_000_300, error: "still" });
  });

  it("idle is not lost: without a failure nothing changes however long since the last success", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    c.at(60_000);
    expect(h.tick()).toBeUndefined();
    expect(h.state().ok).toBe(true);
  });

  it("a failure that judges the outage itself says so (no tick needed)", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    c.at(2_000);
    expect(h.failed("unavailable", 1_000)).toEqual({ type: "lost", sinceMs: 1_001_000, error: "unavailable" });
  });

  it("the first success after an outage restores it, with how long it lasted", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    c.at(2_000);
    h.failed("no leader", 500);
    c.at(10_000);
    expect(h.succeeded(9_800)).toEqual({ type: "restored", lostSinceMs: 1_000_500, atMs: 1_009_800, error: "no leader" });
    expect(h.state()).toEqual({ ok: true, sinceMs: 1_009_800 });
    expect(h.succeeded(10_000)).toBeUndefined();
  });

  it("a success that started before the failures does not end an outage (answers out of order)", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    c.at(3_000);
    h.failed("no leader", 1_500);
    expect(h.state().ok).toBe(false);
    // A slow call that left at 1 000 answered now: it says nothing of after 1 500.
    expect(h.succeeded(1_000)).toBeUndefined();
    expect(h.state().ok).toBe(false);
  });

  it("after a restore, a new outage counts from its own first failure", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    c.at(2_000);
    h.failed("a", 100);
    c.at(3_000);
    h.succeeded(3_000);
    c.at(3_500);
    h.failed("b", 3_200);
    expect(h.state().ok).toBe(true);
    c.at(4_200);
    expect(h.tick()).toEqual({ type: "lost", sinceMs: 1_003_200, error: "b" });
  });

  it("a member whose own process stalled does not judge the store lost for the time it could not run", () => {
    // TTL 5 s: judged after 2.5 s. The member's process is starved for 2 s (a storm of
    // reconnecting agents): a probe's deadline ran out while its answer waited.
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 2_500, ...c });
    h.succeeded(0);
    c.at(3_000);
    h.stalled(2_000);
    expect(h.failed("deadline exceeded", 500)).toBeUndefined();
    expect(h.state().ok).toBe(true);
    // Awake 1 s of the 3 s: 0.5 s since the success still counts. Lost once 2.5 s awake have passed with no success.
    c.at(4_400);
    expect(h.tick()).toBeUndefined();
    c.at(4_500);
    expect(h.tick()).toMatchObject({ type: "lost", error: "deadline exceeded" });
  });

  it("forgets the stalls at the next success, and ignores nonsense", () => {
    const c = clock();
    const h = new StoreHealth({ unavailableAfterMs: 1_000, ...c });
    h.stalled(5_000);
    h.stalled(Number.NaN);
    h.stalled(-3);
    c.at(100);
    h.succeeded(100);
    c.at(900);
    h.failed("no leader", 200);
    c.at(1_100);
    expect(h.tick()).toMatchObject({ type: "lost" });
  });

  it("refuses a threshold that is not a positive integer", () => {
    expect(() => new StoreHealth({ unavailableAfterMs: 0, ...clock() })).toThrow(RangeError);
  });
});

describe("probeTimings", () => {
  it("probes six times a TTL, within 200 ms – 1 s, and judges an outage after half of it, within 1 – 3 s", () => {
    expect(probeTimings(3_000)).toEqual({ everyMs: 500, timeoutMs: 1_500, unavailableAfterMs: 1_500 });
    expect(probeTimings(5_000)).toEqual({ everyMs: 833, timeoutMs: 2_500, unavailableAfterMs: 2_500 });
    expect(probeTimings(60_000)).toEqual({ everyMs: 1_000, timeoutMs: 3_000, unavailableAfterMs: 3_000 });
    expect(probeTimings(600)).toEqual({ everyMs: 200, timeoutMs: 1_000, unavailableAfterMs: 1_000 });
  });
});
