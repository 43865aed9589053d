import { describe, expect, it } from "vitest";
import { judgeGuard, type GuardConfig } from "../../../controller/failure/guard.js";

const cfg: GuardConfig = { share: 0.5, ttlMs: 5000, minHosts: 3 };
const T = 1_000_000;

describe("mass-failure guard", () => {
  it("pauses when half the ready hosts go down within one TTL", () => {
    expect(judgeGuard({ downSinceMs: [T, T + 100], hosts: 4, paused: false, nowMs: T + 200 }, cfg)).toMatchObject({ paused: true });
  });
  it("lets a single loss, or losses spread out over time, through", () => {
    expect(judgeGuard({ downSinceMs: [T], hosts: 4, paused: false, nowMs: T + 100 }, cfg)).toEqual({ paused: false });
    // The first went down long ago: only one recent of the three that were up.
    expect(judgeGuard({ downSinceMs: [T, T + 60_000], hosts: 4, paused: false, nowMs: T + 60_100 }, cfg)).toEqual({ paused: false });
  });
  it("stays off for fleets too small to tell an outage from a loss", () => {
    expect(judgeGuard({ downSinceMs: [T, T], hosts: 2, paused: false, nowMs: T }, cfg)).toEqual({ paused: false });
  });
  it("stays paused while the outage lasts and resumes when hosts come back", () => {
    expect(judgeGuard({ downSinceMs: [T, T], hosts: 4, paused: true, nowMs: T + 600_000 }, cfg)).toMatchObject({ paused: true });
    expect(judgeGuard({ downSinceMs: [T], hosts: 4, paused: true, nowMs: T + 600_000 }, cfg)).toEqual({ paused: false });
  });
  it("is off with share 1", () => {
    expect(judgeGuard({ downSinceMs: [T, T, T], hosts: 3, paused: false, nowMs: T }, { ...cfg, share: 1 })).toEqual({ paused: false });
  });
});
