// An exec health check runs where its service's processes run, its cgroup: what it
// uses counts toward the service's limits, and what it leaves behind ends with the
// service's stop, as a Kubernetes exec probe runs inside its container.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Converger } from "../../../agent/converge/converger.js";
import { realSteps } from "../../../agent/converge/steps.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { createLogger } from "../../../shared/log/logger.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import type { InstanceStatus } from "../../../shared/gen/berth/v1/InstanceStatus.js";
import { cgroupV1Writable } from "../supervisor/fixture.js";
import { until } from "../until.js";

const log = createLogger("test", "silent");
async function* noArtifacts(): AsyncIterable<Uint8Array> {
  yield* [];
  throw new Error("no artifacts here");
}

let dir: string;
const convs: Converger[] = [];
const pids: number[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "berth-execcg-"));
});
afterEach(async () => {
  for (const c of convs.splice(0)) await c.shutdown({ stopService: true }).catch(() => undefined);
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already: the point of the test
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!cgroupV1Writable)("an exec health check in its service's cgroup (needs root and v1)", () => {
  it("runs in the instance's cgroup, and what it leaves behind ends with the instance", async () => {
    const daemonPid = path.join(dir, "daemon.pid");
    // The check is moved just after its spawn (the move waits for the kernel): it waits
    // for a process it forks to be born inside, then leaves a daemon in its own session
    // behind, as a careless check script can, and passes.
    const script = [
      `i=0; while [ $i -lt 200 ]; do grep -q ':/berth/web-0-' /proc/self/cgroup && break; sleep 0.02; i=$((i+1)); done`,
      `grep -q ':/berth/web-0-' /proc/self/cgroup || { echo "not in the instance's cgroup:"; cat /proc/self/cgroup; exit 1; }`,
      // The daemon names itself once in its own session: the check's group is killed when it ends.
      `[ -e ${JSON.stringify(daemonPid)} ] || { setsid sh -c 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0"; exec sleep 1000' ${JSON.stringify(daemonPid)} < /dev/null > /dev/null 2>&1 & }`,
      `while [ ! -s ${JSON.stringify(daemonPid)} ]; do sleep 0.01; done`,
    ].join("\n");
    const spec = normalizeSpec({
      name: "web",
      run: { command: "sleep", args: ["1000"] },
      health: { exec: { command: ["sh", "-c", script] }, interval: "20s", timeout: "10s", unhealthyThreshold: 1 },
    });
    const reports: InstanceStatus[] = [];
    const conv = new Converger({
      dataDir: dir,
      advertiseAddr: () => "127.0.0.1",
      log,
      steps: realSteps({ dataDir: dir, log, advertiseAddr: () => "127.0.0.1", fetchStored: noArtifacts, runAs: async () => ({ user: "" }) }),
      report: (s) => reports.push(s),
    });
    convs.push(conv);
    conv.assign({ service: "web", instance: "web-0", epoch: 1, revision: 1, spec_json: JSON.stringify(spec), secrets: [] });
    await until(() => reports.some((r) => r.state === "healthy" || r.state === "unhealthy"), "the first check's verdict", 20_000);
    expect(reports.find((r) => r.state === "healthy" || r.state === "unhealthy")).toMatchObject({ state: "healthy", detail: "exit 0" });

    await until(() => existsSync(daemonPid), "the check's daemon pid file");
    const pid = Number((await readFile(daemonPid, "utf8")).trim());
    pids.push(pid);
    expect(isLive(readProcStat(pid))).toBe(true);
    // The daemon was forked after the move: the instance's cgroup holds it, so its stop ends it.
    expect(await readFile(`/proc/${pid}/cgroup`, "utf8")).toMatch(/:\/berth\/web-0-/);

    await conv.shutdown({ stopService: true });
    convs.splice(0);
    await until(() => !isLive(readProcStat(pid)), "the check's daemon to end with the instance", 15_000);
  }, 40_000);
});
