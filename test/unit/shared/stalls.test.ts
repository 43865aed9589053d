import { describe, expect, it } from "vitest";
import { MIN_STALL_MS, QuietClock, StallLedger, tickStallMs } from "../../../shared/stalls.js";

describe("tickStallMs", () => {
  it("counts a ticker's lateness as a stall only from MIN_STALL_MS on, and then all of it", () => {
    expect(tickStallMs(100, 100)).toBe(0);
    expect(tickStallMs(100 + MIN_STALL_MS - 1, 100)).toBe(0);
    expect(tickStallMs(100 + MIN_STALL_MS, 100)).toBe(MIN_STALL_MS);
    expect(tickStallMs(6100, 100)).toBe(6000);
  });
});

describe("StallLedger", () => {
  it("sums the stalls after a time, the part after it of one that spans it", () => {
    const l = new StallLedger(10_000);
    l.record(12_000, 1000); // 11 s – 12 s
    l.record(17_000, 6000); // 11 s – 17 s would overlap; as recorded: 6 s before 17 s
    expect(l.since(10_000, 100_000)).toBe(7000);
    expect(l.since(11_500, 100_000)).toBe(500 + 5500);
    expect(l.since(16_000, 100_000)).toBe(1000);
    expect(l.since(17_000, 100_000)).toBe(0);
  });

  it("never credits more than the cap", () => {
    const l = new StallLedger(60_000);
    l.record(20_000, 8000);
    l.record(30_000, 8000);
    expect(l.since(0, 5000)).toBe(5000);
  });

  it("forgets stalls older than keepMs", () => {
    const l = new StallLedger(10_000);
    l.record(1000, 900);
    l.record(20_000, 600);
    expect(l.since(0, 100_000)).toBe(600);
  });

  it("ignores what is no stall", () => {
    const l = new StallLedger(10_000);
    l.record(1000, 0);
    l.record(2000, Number.NaN);
    l.record(3000, -5);
    expect(l.since(0, 100_000)).toBe(0);
  });
});

describe("QuietClock (an agent's watchdog)", () => {
  it("takes a stall of its own process off the controller's quiet: a tick right after it keeps the stream", () => {
    const q = new QuietClock(10_000, 500, 5000);
    for (let t = 10_500; t <= 12_000; t += 500) expect(q.tick(t)).toBe(t - 10_000);
    // Stood still until 17 s: the tick is 4.5 s late, the acks still unread.
    expect(q.tick(17_000)).toBe(2500);
    q.heard(17_001);
    expect(q.tick(17_500)).toBe(499);
    // Nothing more: a TTL (5 s) of running quiet is reached at 22.001 s.
    let quiet = 0;
    for (let t = 18_000; t <= 22_500; t += 500) quiet = q.tick(t);
    expect(quiet).toBe(22_500 - 17_001);
  });

  it("credits stalls up to the cap: a controller really gone is left within a TTL and the cap of the last word", () => {
    const q = new QuietClock(0, 500, 5000);
    // A stall of 8.5 s, credited 5 s.
    expect(q.tick(9000)).toBe(4000);
    expect(q.tick(10_500)).toBe(5500);
  });

  it("counts no stall for ticks on time", () => {
    const q = new QuietClock(0, 500, 5000);
    let quiet = 0;
    for (let t = 500; t <= 6000; t += 500) quiet = q.tick(t);
    expect(quiet).toBe(6000);
  });
});
