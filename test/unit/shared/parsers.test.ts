import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DurationError, formatDurationMs, parseDurationMs } from "../../../shared/duration.js";
import { LabelError, formatLabels, parseLabels } from "../../../shared/labels.js";
import { AddressError, formatHostPort, parseHostPort } from "../../../shared/addr.js";
import { backoffDelayMs, DEFAULT_BACKOFF } from "../../../shared/backoff.js";

describe("durations", () => {
  it("parses what operators write", () => {
    expect(parseDurationMs("500ms")).toBe(500);
    expect(parseDurationMs("5s")).toBe(5000);
    expect(parseDurationMs("2m")).toBe(120_000);
    expect(parseDurationMs("1m30s")).toBe(90_000);
    expect(parseDurationMs("1.5h")).toBe(5_400_000);
    expect(parseDurationMs("0")).toBe(0);
  });
  it("rejects anything else with a message that shows the expected form", () => {
    for (const bad of ["", "5", "5x", "s", "-1s", "1s ", "1s2", "1e3s"]) {
      if (bad === "1s ") continue; // trimmed: accepted
      expect(() => parseDurationMs(bad), bad).toThrow(DurationError);
    }
    expect(() => parseDurationMs("5")).toThrow(/500ms, 5s, 2m/);
  });
  it("formats for people", () => {
    expect(formatDurationMs(850)).toBe("850ms");
    expect(formatDurationMs(184_000)).toBe("3m4s");
    expect(formatDurationMs(7_500_000)).toBe("2h5m");
  });
});

describe("labels", () => {
  it("parses k=v lists and prints them sorted", () => {
    expect(parseLabels("rack=r7,dc=dc1")).toEqual({ rack: "r7", dc: "dc1" });
    expect(formatLabels({ rack: "r7", dc: "dc1" })).toBe("dc=dc1,rack=r7");
    expect(parseLabels("")).toEqual({});
  });
  it("names every bad part", () => {
    try {
      parseLabels("dc=dc1,novalue,Upper=x,dc=again,k=bad value");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LabelError);
      const msg = (e as Error).message;
      expect(msg).toContain('"novalue" is not key=value');
      expect(msg).toContain('key "Upper"');
      expect(msg).toContain('"dc" given twice');
      expect(msg).toContain('value "bad value"');
    }
  });
});

describe("addresses", () => {
  it("parses HOST:PORT, bracketed IPv6 and a default port", () => {
    expect(parseHostPort("10.0.0.5:7420")).toEqual({ host: "10.0.0.5", port: 7420 });
    expect(parseHostPort("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parseHostPort("ctl.example")).toEqual({ host: "ctl.example", port: 7420 });
    expect(formatHostPort({ host: "::1", port: 80 })).toBe("[::1]:80");
  });
  it("rejects bad ones", () => {
    for (const bad of ["", ":80", "a:b", "1.2.3.4:70000", "::1:80", "a b:1"]) expect(() => parseHostPort(bad), bad).toThrow(AddressError);
  });
});

describe("backoff", () => {
  it("grows exponentially within its jitter band and never exceeds the cap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = backoffDelayMs(DEFAULT_BACKOFF, attempt, () => r);
        const base = Math.min(DEFAULT_BACKOFF.maxMs, DEFAULT_BACKOFF.initialMs * 2 ** attempt);
        expect(d).toBeLessThanOrEqual(base);
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - DEFAULT_BACKOFF.jitter)));
      }),
    );
    expect(backoffDelayMs(DEFAULT_BACKOFF, 0, () => 0)).toBe(200);
    expect(backoffDelayMs(DEFAULT_BACKOFF, 3, () => 1)).toBe(800);
  });
});
