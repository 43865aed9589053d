import { describe, expect, it } from "vitest";
import { due, errorMessage, failed, quarantined, retryDelayMs, RETRY_CAP_MS } from "../../../controller/reconcile/unit-errors.js";

describe("per-service unit errors", () => {
  it("backs off 1 s, 2 s, 4 s … and never past 5 min", () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(9)).toBe(256_000);
    expect(retryDelayMs(10)).toBe(RETRY_CAP_MS);
    expect(retryDelayMs(10_000)).toBe(RETRY_CAP_MS);
  });
  it("counts failures in a row from the first, and is due again at its retry time", () => {
    const a = failed(undefined, "boom", 100);
    const b = failed(a, "boom", 1100);
    expect(b).toEqual({ message: "boom", sinceMs: 100, atMs: 1100, attempts: 2, retryAtMs: 3100 });
    expect(due(b, 3099)).toBe(false);
    expect(due(b, 3100)).toBe(true);
  });
  it("a quarantined record waits for no clock, and a failure after it starts a new count", () => {
    const q = quarantined(undefined, "services/web is unusable", 5);
    expect(q.retryAtMs).toBeNull();
    expect(quarantined(q, "services/web is unusable", 99)).toBe(q);
    expect(failed(q, "boom", 10).attempts).toBe(1);
  });
  it("words an error on one bounded line", () => {
    expect(errorMessage(new TypeError("x is\nnull"))).toBe("TypeError: x is null");
    expect(errorMessage(new Error("plain"))).toBe("plain");
    expect(errorMessage("a".repeat(600))).toHaveLength(501);
  });
});
