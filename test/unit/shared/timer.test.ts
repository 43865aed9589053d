import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_MS, clampDelayMs, setIntervalClamped, setTimeoutClamped } from "../../../shared/timer.js";

const DAY_MS = 86_400_000;

describe("clampDelayMs", () => {
  it("keeps what Node can honour and bounds the rest", () => {
    expect(clampDelayMs(0)).toBe(0);
    expect(clampDelayMs(1500)).toBe(1500);
    expect(clampDelayMs(MAX_TIMER_MS)).toBe(MAX_TIMER_MS);
    expect(clampDelayMs(30 * DAY_MS)).toBe(MAX_TIMER_MS);
    expect(clampDelayMs(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_MS);
    expect(clampDelayMs(-5)).toBe(0);
    expect(clampDelayMs(Number.NaN)).toBe(MAX_TIMER_MS);
  });
});

describe("clamped timers (fake clock; it turns an overflowing delay into 1 ms, as Node does)", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("a 30-day timeout does not fire within a second, where a raw one would", () => {
    const raw = vi.fn();
    const clamped = vi.fn();
    setTimeout(raw, 30 * DAY_MS);
    setTimeoutClamped(clamped, 30 * DAY_MS);
    vi.advanceTimersByTime(1000);
    expect(raw).toHaveBeenCalledTimes(1); // the overflow this helper exists for
    expect(clamped).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(clamped).toHaveBeenCalledTimes(1);
  });

  it("a huge or non-numeric interval does not run every millisecond", () => {
    const huge = vi.fn();
    const nan = vi.fn();
    const a = setIntervalClamped(huge, 1e12);
    const b = setIntervalClamped(nan, Number.NaN);
    vi.advanceTimersByTime(1000);
    expect(huge).not.toHaveBeenCalled();
    expect(nan).not.toHaveBeenCalled();
    clearInterval(a);
    clearInterval(b);
  });
});
