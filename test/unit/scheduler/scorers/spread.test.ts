import { describe, expect, it } from "vitest";
import { SpreadCounts, spreadScore, spreadValue } from "../../../../controller/scheduler/scorers/spread.js";
import { host } from "../fixtures.js";

describe("spread scorer", () => {
  const a = host("a", { labels: { dc: "dc1" } });
  const b = host("b", { labels: { dc: "dc2" } });
  const bare = host("c");

  it("reads the spread label; hosts lacking it form the value ''", () => {
    expect(spreadValue(a, "dc")).toBe("dc1");
    expect(spreadValue(bare, "dc")).toBe("");
    expect(spreadValue(a, "")).toBe("");
  });

  it("scores a host by minus the instances already in its value", () => {
    const counts = new SpreadCounts("dc");
    counts.add(a);
    counts.add(a);
    counts.add(bare);
    expect(spreadScore(counts, a)).toBe(-2);
    expect(spreadScore(counts, b)).toBe(-0);
    expect(spreadScore(counts, host("d"))).toBe(-1);
  });

  it("does not count for a service without spread: every host scores the same", () => {
    const counts = new SpreadCounts("");
    counts.add(a);
    expect(spreadScore(counts, a)).toBe(spreadScore(counts, b));
  });
});
