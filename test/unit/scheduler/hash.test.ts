import { describe, expect, it } from "vitest";
import { hostPoint, ringDistance, slotPoint } from "../../../controller/scheduler/hash.js";

describe("tie-break hash", () => {
  it("is fixed across runs and versions (a change would re-deal every tie)", () => {
    expect(hostPoint("host-00001")).toBe(hostPoint("host-00001"));
    expect([hostPoint("h1"), slotPoint("web", 0)]).toMatchInlineSnapshot(`
      [
        2549506341,
        1091725264,
      ]
    `);
  });

  it("tells (service, slot) pairs apart that concatenate alike", () => {
    expect(slotPoint("a", 12)).not.toBe(slotPoint("a1", 2));
  });

  it("measures clockwise, wrapping past the top of the ring", () => {
    expect(ringDistance(0x10, 0xfffffff0)).toBe(0x20);
    expect(ringDistance(5, 5)).toBe(0);
    expect(ringDistance(4, 5)).toBe(0xffffffff);
  });

  it("scatters neighbouring ids over the ring", () => {
    const points = Array.from({ length: 1000 }, (_, i) => hostPoint(`host-${i}`));
    const quarters = [0, 0, 0, 0];
    for (const p of points) quarters[Math.floor(p / 2 ** 30)]!++;
    for (const q of quarters) expect(q).toBeGreaterThan(200);
  });
});
