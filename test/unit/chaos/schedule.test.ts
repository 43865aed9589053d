/** The chaos suite's schedule: a seed alone decides the faults and writes (so `--seed N` replays them). */
import { describe, expect, it } from "vitest";
import { drawSchedule } from "../../cluster/harness/chaos.js";
import { prng } from "../../../shared/prng.js";

describe("drawSchedule", () => {
  it("the same seed draws the same rounds; another seed other ones", () => {
    const rounds = (seed: number): unknown[] => {
      const r = prng(seed);
      return [1, 2, 3].map(() => drawSchedule(r, 8000));
    };
    expect(rounds(7)).toEqual(rounds(7));
    expect(rounds(7)).not.toEqual(rounds(8));
  });

  it("1–2 faults within the first 70 % of the round, writes spread over it, durations in their ranges", () => {
    const r = prng(1);
    for (let k = 0; k < 200; k++) {
      const s = drawSchedule(r, 8000);
      expect(s.faults.length).toBeGreaterThanOrEqual(1);
      expect(s.faults.length).toBeLessThanOrEqual(2);
      for (const f of s.faults) {
        expect(f.atMs).toBeLessThanOrEqual(5600);
        const [lo, hi] = f.kind === "partition" ? [1000, 8000] : f.kind === "agent" ? [200, 1500] : [200, 2500];
        expect(f.downMs).toBeGreaterThanOrEqual(lo);
        expect(f.downMs).toBeLessThanOrEqual(hi);
      }
      expect(s.writes.length).toBeGreaterThanOrEqual(4);
      expect(s.writes.every((w, i) => w.atMs < 8000 && (i === 0 || w.atMs > s.writes[i - 1]!.atMs))).toBe(true);
    }
  });
});
