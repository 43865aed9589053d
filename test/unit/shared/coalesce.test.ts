import { describe, expect, it, vi } from "vitest";
import { Coalescer } from "../../../shared/coalesce.js";

describe("Coalescer", () => {
  it("runs one pass at a time and turns any number of kicks during a pass into one more pass", async () => {
    let active = 0;
    let maxActive = 0;
    let passes = 0;
    let release: (() => void) | undefined;
    const c = new Coalescer(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      passes++;
      if (passes === 1) await new Promise<void>((r) => (release = r));
      active--;
    }, () => undefined);
    c.kick();
    for (let i = 0; i < 10; i++) c.kick();
    release!();
    await c.settled();
    expect(passes).toBe(2);
    expect(maxActive).toBe(1);
  });

  it("reports a failing pass and keeps working; after close, kicks do nothing", async () => {
    const errors: unknown[] = [];
    let n = 0;
    const c = new Coalescer(async () => {
      n++;
      if (n === 1) throw new Error("boom");
    }, (e) => errors.push(e));
    c.kick();
    await c.settled();
    c.kick();
    await c.settled();
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
    await c.close();
    c.kick();
    await c.settled();
    expect(n).toBe(2);
  });
});

describe("Coalescer with pacing", () => {
  /**
   * A pass over the whole fleet, kicked by every host that says hello: with a fleet
   * of thousands joining, unpaced passes run back to back and take the main thread
   * from the joins. Paced, passes take at most maxShare of the time, however often
   * hosts kick — so the work each join causes stays the same as the fleet grows.
   */
  it("waits after a pass of t ms for t·(1/maxShare − 1) before a kicked one, so passes take at most maxShare of the time", async () => {
    vi.useFakeTimers();
    try {
      // The fake timers' clock, plus 10 ms for each pass: a pass takes 10 ms.
      let spent = 0;
      const clock = (): number => Date.now() + spent;
      const starts: number[] = [];
      const c = new Coalescer(
        async () => {
          starts.push(clock());
          spent += 10;
        },
        () => undefined,
        { maxShare: 0.25, maxDelayMs: 1000, now: clock },
      );
      // A host kicks every millisecond for 400 ms.
      for (let t = 0; t < 400; t++) {
        c.kick();
        await vi.advanceTimersByTimeAsync(1);
      }
      await vi.runAllTimersAsync();
      await c.settled();
      // Unpaced: a pass per kick that came while none ran. Paced: one every ≥ 40 ms.
      for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(40);
      expect(starts.length).toBeLessThanOrEqual(Math.ceil(clock() / 40) + 1);
      expect(starts.length).toBeGreaterThanOrEqual(5);
    } finally {
      vi.useRealTimers();
    }
  });

  it("caps the wait at maxDelayMs, runs a requeue (work the pass made due) at once, and close() ends a wait", async () => {
    vi.useFakeTimers();
    try {
      let clock = 0;
      const starts: number[] = [];
      let requeue = false;
      const c: Coalescer = new Coalescer(
        async () => {
          starts.push(clock);
          clock += 1000; // a slow pass: 3 s of wait uncapped
          if (requeue) {
            requeue = false;
            c.requeue();
          }
        },
        () => undefined,
        { maxShare: 0.25, maxDelayMs: 200, now: () => clock },
      );
      c.kick();
      await vi.advanceTimersByTimeAsync(0);
      c.kick(); // after the pass: waits 200 ms, not 3000
      await vi.advanceTimersByTimeAsync(199);
      expect(starts).toEqual([0]);
      await vi.advanceTimersByTimeAsync(1);
      expect(starts).toEqual([0, 1000]);
      requeue = true;
      await vi.advanceTimersByTimeAsync(200);
      c.kick();
      await vi.advanceTimersByTimeAsync(200);
      // The kicked pass (after 200 ms) requeued: the next one at once.
      expect(starts).toEqual([0, 1000, 2000, 3000]);
      c.kick();
      const closed = c.close();
      await vi.advanceTimersByTimeAsync(0);
      await closed;
      expect(starts).toHaveLength(4);
    } finally {
      vi.useRealTimers();
    }
  });
});
