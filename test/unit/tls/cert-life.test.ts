import { describe, expect, it } from "vitest";
import { EXPIRY_WARNING_MS, expiryState, renewDelayMs, renewRetryMs } from "../../../shared/tls/cert-life.js";

const DAY = 86_400_000;
const v30 = { notBeforeMs: 0, notAfterMs: 30 * DAY };

describe("renewDelayMs", () => {
  it("renews at two thirds of the life, in the middle of the jitter", () => {
    expect(renewDelayMs(v30, 0, 0.5)).toBe(20 * DAY);
  });

  it("spreads renewals over ±1/20 of the life", () => {
    expect(renewDelayMs(v30, 0, 0)).toBe(Math.floor(30 * DAY * (2 / 3 - 1 / 20)));
    expect(renewDelayMs(v30, 0, 0.999999)).toBeGreaterThan(21.4 * DAY);
    expect(renewDelayMs(v30, 0, 0.999999)).toBeLessThanOrEqual(21.5 * DAY);
  });

  it("counts from now, and is due at once when the moment has passed (an agent that was off)", () => {
    expect(renewDelayMs(v30, 10 * DAY, 0.5)).toBe(10 * DAY);
    expect(renewDelayMs(v30, 25 * DAY, 0.5)).toBe(0);
    expect(renewDelayMs(v30, 40 * DAY, 0.5)).toBe(0);
  });

  it("gives a 20 s certificate about 13 s", () => {
    const d = renewDelayMs({ notBeforeMs: 1000, notAfterMs: 21_000 }, 1000, 0.5);
    expect(d).toBeGreaterThan(12_000);
    expect(d).toBeLessThan(14_000);
  });

  it("bounds a random outside [0, 1)", () => {
    expect(renewDelayMs(v30, 0, -5)).toBe(renewDelayMs(v30, 0, 0));
    expect(renewDelayMs(v30, 0, 7)).toBe(renewDelayMs(v30, 0, 1));
  });
});

describe("renewRetryMs", () => {
  it("retries within a tenth of what is left, at least a second and at most an hour", () => {
    expect(renewRetryMs(v30, 20 * DAY)).toBe(3_600_000);
    expect(renewRetryMs({ notBeforeMs: 0, notAfterMs: 20_000 }, 10_000)).toBe(1000);
    expect(renewRetryMs({ notBeforeMs: 0, notAfterMs: 200_000 }, 100_000)).toBe(10_000);
  });
});

describe("expiryState", () => {
  it("warns within seven days and says expired from notAfter on", () => {
    expect(expiryState(30 * DAY, 0)).toBe("valid");
    expect(expiryState(30 * DAY, 30 * DAY - EXPIRY_WARNING_MS - 1)).toBe("valid");
    expect(expiryState(30 * DAY, 30 * DAY - EXPIRY_WARNING_MS)).toBe("expiring");
    expect(expiryState(30 * DAY, 30 * DAY)).toBe("expired");
  });
});
