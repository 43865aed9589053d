import { describe, expect, it } from "vitest";
import { checkToken, mintToken, parseToken, roleAllows, TokenFormatError } from "../../../controller/auth/tokens.js";

const FP = "a".repeat(64);
const NOW = 1_700_000_000_000;

describe("tokens", () => {
  it("mints join tokens that carry the CA fingerprint, expire after 1h by default and count uses", () => {
    const { record, token } = mintToken({ role: "agent", uses: 3 }, NOW, FP);
    const p = parseToken(token);
    expect(p).toMatchObject({ kind: "join", id: record.id, caFingerprint: FP });
    expect(record.expiresAtMs).toBe(NOW + 3_600_000);
    expect(record.usesLeft).toBe(3);
    expect(record.secretHash).not.toContain(p.secret);
    expect(checkToken(record, p.secret, NOW)).toEqual({ ok: true });
  });

  it("mints operator tokens that never expire unless asked, and never count uses", () => {
    const { record, token } = mintToken({ role: "operator", uses: 5 }, NOW, FP);
    expect(parseToken(token).kind).toBe("operator");
    expect(record.expiresAtMs).toBe(0);
    expect(record.usesLeft).toBeNull();
  });

  it("refuses a wrong secret, an expired token and a used-up one, each with its reason", () => {
    const { record, token } = mintToken({ role: "agent", ttlMs: 1000, uses: 1 }, NOW, FP);
    const { secret } = parseToken(token);
    expect(checkToken(record, secret.replace(/^./, (c) => (c === "A" ? "B" : "A")), NOW)).toEqual({ ok: false, reason: "unknown token" });
    expect(checkToken(record, secret, NOW + 1000)).toEqual({ ok: false, reason: "token expired" });
    expect(checkToken({ ...record, usesLeft: 0 }, secret, NOW)).toEqual({ ok: false, reason: "token used up" });
    expect(checkToken(undefined, secret, NOW)).toEqual({ ok: false, reason: "unknown token" });
  });

  it("rejects malformed tokens with a named error", () => {
    for (const bad of ["", "bt1.zz.yy", "bj1.short.0123456789.abc", "x".repeat(300), "bt1.0123456789.has.dots.in"]) {
      expect(() => parseToken(bad)).toThrow(TokenFormatError);
    }
  });

  it("orders roles viewer < operator < admin and keeps agent tokens out of the operator API", () => {
    expect(roleAllows("viewer", "viewer")).toBe(true);
    expect(roleAllows("viewer", "operator")).toBe(false);
    expect(roleAllows("operator", "operator")).toBe(true);
    expect(roleAllows("operator", "admin")).toBe(false);
    expect(roleAllows("admin", "operator")).toBe(true);
    expect(roleAllows("agent", "viewer")).toBe(false);
    // lb is beside the ranks: only its own calls, which operators may make too.
    expect(roleAllows("lb", "lb")).toBe(true);
    expect(roleAllows("lb", "viewer")).toBe(false);
    expect(roleAllows("viewer", "lb")).toBe(false);
    expect(roleAllows("operator", "lb")).toBe(true);
    expect(roleAllows("agent", "lb")).toBe(false);
  });
});
