// The fencing watchdog with real processes: a service supervised by an agent
// that then "dies" (detach: the process keeps running, nobody renews the lease)
// is stopped by the watchdog within stopAfterDisconnect + check period + grace +
// stopTimeout; a renewed lease keeps it running; a removed lease ends the watchdog.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { monoMs } from "../../../shared/clock.js";
import { SELF_FENCED, WATCHDOG_CHECK_MS, WATCHDOG_FENCED, WATCHDOG_GRACE_MS, WATCHDOG_LAG_MS } from "../../../shared/fence.js";
import { ensureWatchdog, leaseFiles, readLease, removeLease, runningWatchdog, takeFencedMark, watchdogVerdict, writeLease, type LeaseFiles } from "../../../agent/supervisor/fence-lease.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { makeFixture, type Fixture } from "./fixture.js";
import { until } from "../until.js";

describe("watchdogVerdict", () => {
  it("exits without a lease, waits until deadline + grace, then fences", () => {
    expect(watchdogVerdict(null, 5_000, 300)).toBe("exit");
    expect(watchdogVerdict(1_000, 1_000, 300)).toBe("wait");
    expect(watchdogVerdict(1_000, 1_300, 300)).toBe("wait");
    expect(watchdogVerdict(1_000, 1_301, 300)).toBe("fence");
  });
  it("the lag the controller's margin must cover includes the grace and a check period", () => {
    expect(WATCHDOG_LAG_MS).toBeGreaterThanOrEqual(WATCHDOG_GRACE_MS + WATCHDOG_CHECK_MS);
  });
});

describe("the lease file", () => {
  let f: Fixture;
  beforeEach(async () => (f = await makeFixture()));
  afterEach(async () => f.cleanup());

  it("holds the deadline, 0600; unreadable is 'bad', absent is null", async () => {
    const files = leaseFiles(path.join(f.dir, "instance", "web-0.process.json"));
    expect(files.lease).toBe(path.join(f.dir, "instance", "web-0.lease"));
    expect(readLease(files.lease)).toBeNull();
    writeLease(files.lease, 1234.5);
    expect(readLease(files.lease)).toBe(1234.5);
    expect((await import("node:fs")).statSync(files.lease).mode & 0o777).toBe(0o600);
    (await import("node:fs")).writeFileSync(files.lease, "{not json");
    expect(readLease(files.lease)).toBe("bad");
  });
});

describe("fence watchdog (real processes)", () => {
  let f: Fixture;
  let files: LeaseFiles;
  beforeEach(async () => {
    f = await makeFixture();
    files = leaseFiles(f.stateFile);
  });
  afterEach(async () => {
    removeLease(files);
    const w = runningWatchdog(files);
    if (w !== undefined) process.kill(w, "SIGKILL");
    await f.cleanup();
  });

  async function running(script: string, stopTimeoutMs: number): Promise<number> {
    const sup = f.supervisor(f.options(script, { stopTimeoutMs }));
    const up = new Promise<number>((resolve) => sup.on("state", (s) => s.state === "running" && resolve(s.pid!)));
    sup.start();
    const pid = await up;
    f.trackPid(pid);
    // The agent dies: nothing supervises or renews any more; the process runs on.
    await sup.detach();
    return pid;
  }

  /** Starts the watchdog under a far lease and waits until it watches (its start is slow under tsx), then sets `leaseMs`. */
  async function watchdogWith(leaseMs: number): Promise<{ wd: number; deadline: number }> {
    writeLease(files.lease, monoMs() + 60_000);
    const wd = ensureWatchdog(files);
    f.trackPid(wd);
    await until(() => existsSync(files.logFile) && readFileSync(files.logFile, "utf8").includes("watching the fencing lease"), "the watchdog to watch", 20_000);
    const deadline = monoMs() + leaseMs;
    writeLease(files.lease, deadline);
    return { wd, deadline };
  }

  it("stops the service (stop signal) once the lease expires unrenewed, within lease + lag + stopTimeout", async () => {
    const pid = await running("process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)", 2_000);
    const { wd, deadline } = await watchdogWith(1_500);
    expect(ensureWatchdog(files)).toBe(wd); // one watchdog: a second call re-adopts it
    await until(() => !isLive(readProcStat(pid)), "the service stopped by the watchdog", 15_000, 10);
    const stoppedAt = monoMs();
    expect(stoppedAt).toBeGreaterThan(deadline + WATCHDOG_GRACE_MS);
    expect(stoppedAt - deadline).toBeLessThanOrEqual(WATCHDOG_LAG_MS + 2_000);
    await until(() => runningWatchdog(files) === undefined, "the watchdog to exit");
    expect(existsSync(files.lease)).toBe(false);
    expect(existsSync(f.stateFile)).toBe(false); // stopped as the supervisor would: a restarted agent finds nothing stale
    // Word of it for the next agent, which reports it once (and takes it away).
    const mark = takeFencedMark(files.fencedMark);
    expect(mark?.detail).toBe(`${SELF_FENCED} ${WATCHDOG_FENCED}`);
    expect(Math.abs(Date.now() - mark!.atMs)).toBeLessThan(15_000);
    expect(takeFencedMark(files.fencedMark)).toBeUndefined();
  });

  it("a service that ignores the stop signal gets SIGKILL after stopTimeout", async () => {
    const pid = await running("process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)", 1_000);
    const { deadline } = await watchdogWith(300);
    await until(() => !isLive(readProcStat(pid)), "the service killed by the watchdog", 15_000, 10);
    expect(monoMs() - deadline).toBeGreaterThanOrEqual(1_000 + WATCHDOG_GRACE_MS);
    expect(monoMs() - deadline).toBeLessThanOrEqual(WATCHDOG_LAG_MS + 1_000 + 1_000);
  });

  it("a renewed lease keeps the service running; a removed lease ends the watchdog and leaves the service alone", async () => {
    const pid = await running("setInterval(() => {}, 1000)", 1_000);
    const { wd } = await watchdogWith(300);
    const until2s = monoMs() + 2_000;
    // The agent renews as its heartbeats arrive: always 300 ms ahead.
    while (monoMs() < until2s) {
      writeLease(files.lease, monoMs() + 300);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(isLive(readProcStat(pid))).toBe(true);
    removeLease(files);
    await until(() => !isLive(readProcStat(wd)), "the watchdog to exit");
    expect(isLive(readProcStat(pid))).toBe(true);
  });
});
