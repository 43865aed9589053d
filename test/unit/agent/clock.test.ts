// Intervals on the agent are measured on the monotonic clock: a wall clock that
// NTP steps back (faked here: Date frozen, then set an hour earlier) must not
// stretch a stop's grace, stall health checks, or shift the persisted last contact.
import { afterEach, describe, expect, it, vi } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pollUntil } from "../../../agent/supervisor/process-group.js";
import { HealthMonitor } from "../../../agent/health/checks.js";
import { loadLastContact, saveLastContact } from "../../../agent/contact.js";
import { until } from "../until.js";

afterEach(() => {
  vi.useRealTimers();
});

const HOUR = 3_600_000;

describe("with the wall clock stepped back", () => {
  it("a stop's grace (pollUntil) still ends on time", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-06-01T12:00:00Z"));
    const started = performance.now();
    let polls = 0;
    const done = pollUntil(() => {
      // NTP steps the clock back an hour during the wait.
      if (++polls === 2) vi.setSystemTime(new Date("2026-06-01T11:00:00Z"));
      return false;
    }, 300);
    await expect(done).resolves.toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("health checks keep their interval", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-06-01T12:00:00Z"));
    let checks = 0;
    const m = new HealthMonitor({
      spec: { check: { kind: "tcp", port: 1 }, intervalMs: 50, timeoutMs: 50, healthyThreshold: 1, unhealthyThreshold: 1 },
      host: "127.0.0.1",
      check: async () => {
        // Stepped back an hour while the first check runs.
        if (++checks === 1) vi.setSystemTime(new Date("2026-06-01T11:00:00Z"));
        return { ok: true, detail: "ok" };
      },
    });
    m.start();
    try {
      await until(() => checks >= 3, "three checks, 50 ms apart", 3_000);
    } finally {
      await m.stop();
    }
  });
});

describe("the persisted last contact", () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is kept on the monotonic clock within one boot, whatever the wall clock did", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-contact-"));
    const file = path.join(dir, "last-contact");
    await saveLastContact(file, 5_000, { mono: () => 9_000, wall: () => 100 * HOUR, boot: () => "boot-1" });
    // The next agent, same boot, wall clock an hour behind.
    expect(await loadLastContact(file, { mono: () => 12_000, wall: () => 99 * HOUR, boot: () => "boot-1" })).toBe(5_000);
  });

  it("after a reboot, or from an older agent's file (wall ms), is carried over by its wall-clock age", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-contact-"));
    const file = path.join(dir, "last-contact");
    await saveLastContact(file, 5_000, { mono: () => 9_000, wall: () => 100 * HOUR, boot: () => "boot-1" });
    // Contact was at wall 100h - 4s; now is 100h + 6s on the wall: 10 s ago.
    expect(await loadLastContact(file, { mono: () => 50_000, wall: () => 100 * HOUR + 6_000, boot: () => "boot-2" })).toBe(40_000);
    await writeFile(file, String(100 * HOUR));
    expect(await loadLastContact(file, { mono: () => 50_000, wall: () => 100 * HOUR + 6_000, boot: () => "boot-1" })).toBe(44_000);
    // A wall clock behind the recorded time does not make the contact newer than now.
    expect(await loadLastContact(file, { mono: () => 50_000, wall: () => 99 * HOUR, boot: () => "boot-1" })).toBe(50_000);
  });

  it("is 0 (fence at once) when never recorded or unreadable", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-contact-"));
    const file = path.join(dir, "last-contact");
    expect(await loadLastContact(file)).toBe(0);
    await writeFile(file, "{garbage");
    expect(await loadLastContact(file)).toBe(0);
  });
});
