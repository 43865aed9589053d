// How often the leader's failure detector passes over the fleet unkicked
// (leader/leader.ts detectorTickMs): each tick is O(hosts), so it is no more often
// than it must be — a host's own deadline wakes the detector, not the tick.
import { describe, expect, it } from "vitest";
import { detectorTickMs } from "../../../controller/leader/leader.js";

describe("the failure detector's tick", () => {
  it("is a tenth of the TTL, between 50 ms and 500 ms", () => {
    expect(detectorTickMs(5_000)).toBe(500);
    expect(detectorTickMs(3_000)).toBe(300);
    expect(detectorTickMs(1_000)).toBe(100);
    expect(detectorTickMs(200)).toBe(50);
    expect(detectorTickMs(60_000)).toBe(500);
  });
});
