// A self-fencing copy has its fencing lease and watchdog from before its process starts,
// not from the agent's first fence check (up to 100 ms later). An agent killed in between
// used to leave the copy with no stopper at all: the controller's replacement then ran
// beside it for good (a full CI run found 2 copies right after the replacement turned
// healthy, the agent killed ~90 ms after the copy started). Real processes: the real steps
// (supervisor, lease, watchdog), `sleep` as the service, the agent "killed" right after the
// start — its fence checks never run (their timer is faked and never advanced), and it
// leaves the process running, as a dead agent does.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Converger } from "../../../agent/converge/converger.js";
import { realSteps } from "../../../agent/converge/steps.js";
import { leaseFiles, readLease, runningWatchdog } from "../../../agent/supervisor/fence-lease.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { monoMs } from "../../../shared/clock.js";
import { createLogger } from "../../../shared/log/logger.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import type { InstanceStatus } from "../../../shared/gen/berth/v1/InstanceStatus.js";
import { until } from "../until.js";

const log = createLogger("test", "silent");

describe("a self-fencing copy whose agent dies right after starting it", () => {
  let dir: string;
  const pids: number[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-fence-start-"));
    await chmod(dir, 0o711);
  });
  afterEach(async () => {
    vi.useRealTimers();
    for (const pid of pids.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("is stopped by its watchdog once the lease runs out, though the agent never checked its fence", async () => {
    // The fence checks run on an interval: never let it tick, as if the agent died before the first.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const contact = monoMs();
    const reports: InstanceStatus[] = [];
    const spec = normalizeSpec({ name: "web", run: { command: "sleep", args: ["1000"], stopTimeout: "1s" }, failover: { stopAfterDisconnect: "1s" } });
    const conv = new Converger({
      dataDir: dir,
      advertiseAddr: () => "127.0.0.1",
      log,
      // As the agent itself: no service user to create.
      steps: realSteps({ dataDir: dir, log, advertiseAddr: () => "127.0.0.1", fetchStored: () => { throw new Error("no artifact here"); }, runAs: async () => ({ user: "" }) }),
      report: (s) => reports.push(s),
      lastContactMs: () => contact,
    });
    conv.assign({ service: "web", instance: "web-0", epoch: 1, revision: 1, spec_json: JSON.stringify(spec), secrets: [] });
    await until(() => reports.some((r) => r.state === "healthy" && (r.pid ?? 0) > 0), "the copy to run");
    const pid = reports.find((r) => (r.pid ?? 0) > 0)!.pid!;
    pids.push(pid);
    // The agent dies: nothing renews the lease any more, nothing stops the copy on its way out.
    await conv.shutdown({ stopService: false });
    const files = leaseFiles(path.join(dir, "instance", "web-0.process.json"));
    // Already in place when the copy started: the lease, at contact + stopAfterDisconnect, and its watchdog.
    expect(readLease(files.lease)).toBe(contact + 1000);
    const wd = runningWatchdog(files);
    expect(wd).toBeDefined();
    if (wd !== undefined) pids.push(wd);
    // The watchdog stops it: lease (1 s) + grace and a check + the stop, and its own slow start under tsx.
    await until(() => !isLive(readProcStat(pid)), "the watchdog to stop the copy", 20_000, 50);
    // It removes the lease once the stop is over (just after the process is gone) and exits.
    await until(() => readLease(files.lease) === null, "the watchdog to remove the lease", 10_000, 20);
  }, 30_000);
});
