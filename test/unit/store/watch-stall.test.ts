import { describe, expect, it } from "vitest";
import { WatchStallJudge } from "../../../controller/store/watch-stall.js";

describe("WatchStallJudge (injected times)", () => {
  it("a stream quiet for everyMs is asked for its progress, once, and is stalled when that goes unanswered for stallMs", () => {
    const j = new WatchStallJudge(10_000, 1_000, 1_500);
    expect(j.verdict(10_999)).toBe("wait");
    expect(j.verdict(11_000)).toBe("probe");
    j.probed(11_000);
    // Asked already: no second request while the first waits.
    expect(j.verdict(12_000)).toBe("wait");
    expect(j.verdict(12_500)).toBe("wait");
    expect(j.verdict(12_501)).toBe("stalled");
  });

  it("anything heard — an event or the progress answer — clears the question and restarts the quiet time", () => {
    const j = new WatchStallJudge(0, 1_000, 1_500);
    j.probed(1_000);
    j.heard(1_200);
    expect(j.verdict(2_199)).toBe("wait");
    expect(j.verdict(2_200)).toBe("probe");
  });

  it("a busy stream is never asked", () => {
    const j = new WatchStallJudge(0, 1_000, 1_500);
    for (let t = 0; t < 10_000; t += 400) {
      j.heard(t);
      expect(j.verdict(t + 399)).toBe("wait");
    }
  });

  it("a stream that never answers at all (opened on a member cut off) is stalled after everyMs + stallMs", () => {
    const j = new WatchStallJudge(5_000, 1_000, 1_500);
    expect(j.verdict(6_000)).toBe("probe");
    j.probed(6_000);
    expect(j.verdict(7_501)).toBe("stalled");
  });
});
