import { describe, expect, it } from "vitest";
import { changed, dueAtMs, IDLE } from "../../../../cli/lb/debounce.js";

const w = { quietMs: 300, maxMs: 2000 };

describe("debounce", () => {
  it("applies once the changes have been quiet for quietMs", () => {
    let d = changed(IDLE, 0);
    d = changed(d, 100);
    d = changed(d, 250);
    expect(dueAtMs(d, w)).toBe(550);
  });

  it("never later than maxMs after the first change, however often changes come", () => {
    let d = IDLE;
    for (let t = 0; t <= 2400; t += 200) d = changed(d, t);
    expect(dueAtMs(d, w)).toBe(2000);
  });

  it("nothing waits: no due time", () => {
    expect(dueAtMs(IDLE, w)).toBeNull();
  });
});
