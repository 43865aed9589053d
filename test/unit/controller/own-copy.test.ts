// Which instance reports may become events: a host's own copy (the slot's or its move's, at
// that epoch), or an older copy saying it stopped; never another host's copy.
import { describe, expect, it } from "vitest";
import { reportsOwnCopy } from "../../../controller/member/agent-stream/instance-status.js";

const rec = { hostId: "h1", epoch: 5, moveTo: null };

describe("reportsOwnCopy", () => {
  it("takes the copy a host runs, at its epoch", () => {
    expect(reportsOwnCopy(rec, "h1", { epoch: 5, state: "healthy" })).toBe(true);
    expect(reportsOwnCopy({ ...rec, moveTo: { hostId: "h2", epoch: 6 } }, "h2", { epoch: 6, state: "starting" })).toBe(true);
  });

  it("refuses another host's copy, whatever it says", () => {
    for (const state of ["healthy", "failed", "stopped"]) expect(reportsOwnCopy(rec, "h9", { epoch: 5, state })).toBe(false);
    expect(reportsOwnCopy(rec, "h9", { epoch: 6, state: "failed" })).toBe(false);
    expect(reportsOwnCopy(undefined, "h1", { epoch: 5, state: "healthy" })).toBe(false);
  });

  it("takes an older copy only saying it stopped (the slot runs elsewhere by then)", () => {
    expect(reportsOwnCopy(rec, "h7", { epoch: 4, state: "stopped" })).toBe(true);
    expect(reportsOwnCopy(rec, "h7", { epoch: 4, state: "healthy" })).toBe(false);
    expect(reportsOwnCopy(rec, "h1", { epoch: 5, state: "stopped" })).toBe(true);
  });
});
