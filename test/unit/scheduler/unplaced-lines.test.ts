import { describe, expect, it } from "vitest";
import { unplacedLines } from "../../../controller/scheduler/explain.js";

describe("berth services: why instances are not placed", () => {
  it("says each reason once, naming the instances it holds back", () => {
    const why = "no spare host: 3 are occupied";
    const insts = ["web-1", "web-2", "web-3", "web-4", "web-5"].map((instance) => ({ instance, reason: why }));
    expect(unplacedLines([{ instance: "web-0", reason: "" }, ...insts, { instance: "web-6", reason: "pinned host h1 is cordoned" }])).toEqual([
      "web-1, web-2, web-3 and 2 more: no spare host: 3 are occupied",
      "web-6: pinned host h1 is cordoned",
    ]);
    expect(unplacedLines([{ instance: "web-0", reason: why }])).toEqual([`web-0: ${why}`]);
  });
});
