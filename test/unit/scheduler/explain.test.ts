import { describe, expect, it } from "vitest";
import { describeConstraint, explain, verb } from "../../../controller/scheduler/explain.js";

describe("explain", () => {
  it("lists reasons most common first, singular and plural, and constraints nothing matched last", () => {
    const out = explain({
      counts: [
        { reason: { kind: "cordoned" }, count: 1 },
        { reason: { kind: "resources", resource: "memoryMb", need: 4096 }, count: 2 },
        { reason: { kind: "occupied" }, count: 3 },
      ],
      unmatched: [{ label: "dc", allowed: ["dc2"] }],
    });
    expect(out).toBe("no spare host: 3 are occupied, 2 lack memoryMb>=4096, 1 is cordoned, 0 match dc=dc2");
  });

  it("breaks ties in count by the order the filters run", () => {
    const out = explain({
      counts: [
        { reason: { kind: "occupied" }, count: 1 },
        { reason: { kind: "avoided" }, count: 1 },
        { reason: { kind: "not-ready" }, count: 1 },
        { reason: { kind: "constraint", label: "disk", allowed: ["ssd"] }, count: 1 },
      ],
      unmatched: [],
    });
    expect(out).toBe("no spare host: 1 is not ready, 1 doesn't match disk=ssd, 1 is avoided (the slot must leave it), 1 is occupied");
  });

  it("sums a reason given twice and drops zero counts", () => {
    const out = explain({
      counts: [
        { reason: { kind: "constraint", label: "dc", allowed: ["dc1", "dc2"] }, count: 2 },
        { reason: { kind: "constraint", label: "dc", allowed: ["dc1", "dc2"] }, count: 3 },
        { reason: { kind: "cordoned" }, count: 0 },
      ],
      unmatched: [],
    });
    expect(out).toBe("no spare host: 5 don't match dc in [dc1,dc2]");
  });

  it("says so when the fleet is empty", () => {
    expect(explain({ counts: [], unmatched: [] })).toBe("no spare host: the fleet has no hosts");
  });

  it("phrases a single host's problem for pinned-host messages", () => {
    expect(verb({ kind: "resources", resource: "cpu", need: 2 }, false)).toBe("lacks cpu>=2");
    expect(verb({ kind: "not-ready" }, false)).toBe("is not ready");
    expect(describeConstraint("dc", ["dc1"])).toBe("dc=dc1");
  });
});
