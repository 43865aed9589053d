/**
 * A process the supervisor spawned is named by its state file before the move into its
 * cgroup (5–15 ms on cgroup v1): an agent killed during the move leaves a process that the
 * next agent, or the fencing watchdog (fence-watchdog.ts), finds by that record and stops.
 * The move is made to hang (cgroup.procs a FIFO nobody reads) and the agent killed there;
 * the adoption that follows finishes the move.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { cgroupName } from "../../../agent/supervisor/cgroup.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { Supervisor } from "../../../agent/supervisor/supervisor.js";
import { until } from "../store/contract.js";

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "slow-cgroup-child.ts");

describe("the supervisor's record and the cgroup move", () => {
  let dir = "";
  let agent: ChildProcess | undefined;
  let servicePid = 0;

  afterEach(async () => {
    agent?.kill("SIGKILL");
    if (servicePid > 0 && isLive(readProcStat(servicePid))) process.kill(-servicePid, "SIGKILL");
    // Also one no record named (the test failing): found by its folder.
    if (dir) for (const pid of processesIn(dir)) process.kill(pid, "SIGKILL");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("names the process before it is moved into its cgroup: an agent killed during the move leaves nothing unnamed", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-record-first-"));
    const stateFile = path.join(dir, "state", "web-0.process.json");
    const root = path.join(dir, "cgroup");
    const workDir = path.join(dir, "work");
    mkdirSync(workDir, { recursive: true });
    // A cgroup v2 root as the supervisor reads one; the run's cgroup.procs a FIFO, whose
    // write blocks until someone reads: the move hangs.
    mkdirSync(path.join(root, "berth", cgroupName("web-0", stateFile)), { recursive: true });
    writeFileSync(path.join(root, "cgroup.controllers"), "cpu memory\n");
    execFileSync("mkfifo", [path.join(root, "berth", cgroupName("web-0", stateFile), "cgroup.procs")]);

    agent = spawn(process.execPath, ["--import", "tsx", child, stateFile, root, workDir, path.join(dir, "logs")], { stdio: "ignore" });
    const agentExit = new Promise<void>((resolve) => agent!.once("exit", () => resolve()));
    await until(() => existsSync(stateFile), "the state file naming the new process", 15_000);
    const record = JSON.parse(readFileSync(stateFile, "utf8")) as { pid: number; pgid: number; epoch: number };
    servicePid = record.pid;
    expect(record.epoch).toBe(3);
    expect(readProcStat(record.pid)?.comm).toBe("sleep");
    // The agent is still inside the move (nobody reads the FIFO): it dies there.
    agent.kill("SIGKILL");
    await agentExit;
    expect(isLive(readProcStat(record.pid))).toBe(true);
    // As the kernel would show it: a cgroup the process never got into (and a read of the
    // FIFO would block the test).
    const procs = path.join(root, "berth", cgroupName("web-0", stateFile), "cgroup.procs");
    await rm(procs);
    writeFileSync(procs, "");

    // What the next agent, or the watchdog at its deadline, does: adopt by the record —
    // which finishes the move — and (the watchdog) stop.
    const adopted = await Supervisor.adopt(stateFile, {});
    expect(adopted.adopted).toBe(true);
    if (!adopted.adopted) return;
    try {
      expect(readFileSync(procs, "utf8").trim()).toBe(String(record.pid));
    } finally {
      await adopted.supervisor.stop();
    }
    expect(isLive(readProcStat(record.pid))).toBe(false);
  });
});

/** Processes whose working folder is under `dir`. */
function processesIn(dir: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readlinkSync(`/proc/${name}/cwd`).startsWith(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}
