import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fleetMax, sizeKey, tightness } from "../../../../controller/scheduler/scorers/tightness.js";
import { host } from "../fixtures.js";

describe("tightness scorer", () => {
  const max = { cpu: 64, memoryMb: 262144, diskMb: 4_000_000 };

  it("works the example in its comment", () => {
    expect(sizeKey({ cpu: 16, memoryMb: 65536, diskMb: 1_000_000 }, max)).toBe(0.25);
    expect(sizeKey({ cpu: 2, memoryMb: 4096, diskMb: 0 }, max)).toBe(0.015625);
    expect(tightness({ cpu: 16, memoryMb: 65536, diskMb: 1_000_000 }, { cpu: 2, memoryMb: 4096, diskMb: 0 }, max)).toBe(0.765625);
    expect(tightness(max, { cpu: 2, memoryMb: 4096, diskMb: 0 }, max)).toBe(0.015625);
  });

  it("prefers the smaller host, even for a service that asks for nothing", () => {
    const none = { cpu: 0, memoryMb: 0, diskMb: 0 };
    expect(tightness({ cpu: 4, memoryMb: 8192, diskMb: 0 }, none, max)).toBeGreaterThan(tightness({ cpu: 8, memoryMb: 8192, diskMb: 0 }, none, max));
  });

  it("takes the fleet's maximum per resource, ignoring NaN", () => {
    const hosts = [host("a", { capacity: { cpu: 4, memoryMb: Number.NaN, diskMb: 0 } }), host("b", { capacity: { cpu: 2, memoryMb: 8, diskMb: 0 } })];
    expect(fleetMax(hosts)).toEqual({ cpu: 4, memoryMb: 8, diskMb: 0 });
  });

  const res = fc.record({
    cpu: fc.oneof(fc.double({ min: -1, max: 128, noNaN: false }), fc.constant(0)),
    memoryMb: fc.oneof(fc.double({ min: -1, max: 1e6 }), fc.constant(Number.POSITIVE_INFINITY)),
    diskMb: fc.double({ min: -1, max: 1e7 }),
  });

  it("never gives a host that fits a need a smaller key than the need (the index search relies on it)", () => {
    fc.assert(
      fc.property(res, res, res, (cap, need, fleet) => {
        const fits = (["cpu", "memoryMb", "diskMb"] as const).every((r) => !(need[r] > 0) || cap[r] >= need[r]);
        fc.pre(fits);
        const k = sizeKey(cap, fleet);
        expect(k).toBeGreaterThanOrEqual(sizeKey(need, fleet));
        expect(k).toBeGreaterThanOrEqual(0);
        expect(k).toBeLessThanOrEqual(1);
      }),
    );
  });
});
