import { describe, expect, it } from "vitest";
import { refusalAuditCells } from "../../../cli/refusal-audit.js";

describe("refusalAuditCells", () => {
  it("shows an aggregate as its sentence and the methods tried, most first", () => {
    const e = { count: 30, error: "30 refused calls from 10.0.0.7 (unknown token) between A and B", request: JSON.stringify({ methods: { Apply: 10, Cordon: 20 }, reasons: { "unknown token": 30 } }) };
    expect(refusalAuditCells(e)).toEqual({ outcome: e.error, request: "Cordon ×20, Apply ×10" });
  });
  it("leaves single entries alone, and survives a cut request", () => {
    expect(refusalAuditCells({ count: 0, error: "x", request: "{}" })).toBeUndefined();
    expect(refusalAuditCells({ count: 2, error: "e", request: '{"methods":{"Ap' })).toEqual({ outcome: "e", request: "" });
  });
});
