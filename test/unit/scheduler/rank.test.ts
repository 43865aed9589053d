import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareRank, weightedScore, type Rank } from "../../../controller/scheduler/rank.js";

describe("ranker", () => {
  const rank = (o: Partial<Rank>): Rank => ({ count: 0, artifact: 0, size: 0.5, dist: 100, hostId: "h", ...o });

  it("puts spread first, then the artifact, then the smaller host, then the ring, then the id", () => {
    expect(compareRank(rank({ count: 0, size: 1 }), rank({ count: 1, artifact: 1, size: 0 }))).toBeLessThan(0);
    expect(compareRank(rank({ artifact: 1, size: 1 }), rank({ artifact: 0, size: 0 }))).toBeLessThan(0);
    expect(compareRank(rank({ size: 0.2, dist: 9 }), rank({ size: 0.3, dist: 1 }))).toBeLessThan(0);
    expect(compareRank(rank({ dist: 1, hostId: "z" }), rank({ dist: 2, hostId: "a" }))).toBeLessThan(0);
    expect(compareRank(rank({ hostId: "a" }), rank({ hostId: "b" }))).toBeLessThan(0);
  });

  it("orders hosts as the documented weighted score does, wherever the score tells them apart", () => {
    const needSize = 0.1;
    const r = fc.record({
      count: fc.integer({ min: 0, max: 5 }),
      artifact: fc.constantFrom(0 as const, 1 as const),
      size: fc.double({ min: needSize, max: 1, noNaN: true }),
      dist: fc.nat(),
      hostId: fc.constantFrom("a", "b"),
    });
    fc.assert(
      fc.property(r, r, (a, b) => {
        const sa = weightedScore(a, needSize);
        const sb = weightedScore(b, needSize);
        if (sa > sb) expect(compareRank(a, b)).toBeLessThan(0);
        if (sa < sb) expect(compareRank(a, b)).toBeGreaterThan(0);
      }),
    );
  });
});
