// Real processes for supervisor tests: a temp dir per test, node -e scripts as
// services, event-driven waits with deadlines, and a cleanup that ends every
// process, file and cgroup the test made even when it failed halfway.
import { chmodSync, existsSync, mkdirSync, rmdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Supervisor, type SupervisorOptions, type SupervisorState } from "../../../agent/supervisor/supervisor.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { cgroupName } from "../../../agent/supervisor/cgroup.js";

/** Root on a host with v1 cpu and memory hierarchies: the supervisor makes real cgroups. */
export const cgroupV1Writable =
  process.getuid?.() === 0 && existsSync("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") && existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes");

let counter = 0;

export interface Fixture {
  dir: string;
  workDir: string;
  logDir: string;
  /** Unique across parallel test files. */
  instanceId: string;
  stateFile: string;
  /** Options for a node -e service; override what the test needs. */
  options(script: string, more?: Partial<SupervisorOptions>): SupervisorOptions;
  /** A supervisor that cleanup() stops. */
  supervisor(opts: SupervisorOptions): Supervisor;
  /** Remember a supervisor made elsewhere (adopt), or a pid to kill at the end. */
  track(sup: Supervisor): void;
  trackPid(pid: number): void;
  cleanup(): Promise<void>;
}

export async function makeFixture(): Promise<Fixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "berth-sup-"));
  const workDir = path.join(dir, "work");
  const logDir = path.join(dir, "logs");
  mkdirSync(workDir);
  // mkdtemp makes 0700: a service running as another user could not enter its workDir.
  chmodSync(dir, 0o755);
  chmodSync(workDir, 0o755);
  const instanceId = `t${process.pid}-${++counter}`;
  const sups: Supervisor[] = [];
  const pids: number[] = [];
  const f: Fixture = {
    dir,
    workDir,
    logDir,
    instanceId,
    stateFile: path.join(dir, "state", `${instanceId}.json`),
    options: (script, more = {}) => ({
      instanceId,
      epoch: 7,
      specHash: "abc123",
      workDir,
      command: process.execPath,
      args: ["-e", script],
      env: { BERTH_INSTANCE: instanceId, BERTH_EPOCH: "7", GREETING: "hello" },
      user: "",
      stopSignal: "SIGTERM",
      stopTimeoutMs: 5_000,
      logDir,
      stateFile: f.stateFile,
      logCheckIntervalMs: 50,
      exitPollMs: 50,
      ...more,
    }),
    supervisor: (opts) => {
      const s = new Supervisor(opts);
      sups.push(s);
      return s;
    },
    track: (s) => void sups.push(s),
    trackPid: (pid) => void pids.push(pid),
    cleanup: async () => {
      for (const s of sups) await s.stop().catch(() => undefined);
      for (const pid of pids) {
        if (isLive(readProcStat(pid))) {
          for (const target of [-pid, pid]) {
            try {
              process.kill(target, "SIGKILL");
            } catch {
              // already gone
            }
          }
        }
      }
      for (const ctl of ["cpu", "memory"]) {
        try {
          rmdirSync(`/sys/fs/cgroup/${ctl}/berth/${cgroupName(instanceId, f.stateFile)}`);
        } catch {
          // never made, or already removed
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return f;
}

/** Every state a supervisor goes through, from now on. */
export function recordStates(sup: Supervisor): SupervisorState[] {
  const seen: SupervisorState[] = [];
  sup.on("state", (s) => seen.push(s));
  return seen;
}

/** The current state if it matches, else the first state event that does; rejects at the deadline naming the last state. */
export function waitForState(
  sup: Supervisor,
  pred: (s: SupervisorState) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<SupervisorState> {
  if (pred(sup.state)) return Promise.resolve(sup.state);
  return new Promise((resolve, reject) => {
    const onState = (s: SupervisorState): void => {
      if (!pred(s)) return;
      clearTimeout(timer);
      sup.off("state", onState);
      resolve(s);
    };
    const timer = setTimeout(() => {
      sup.off("state", onState);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last state ${JSON.stringify(sup.state)}`));
    }, timeoutMs);
    sup.on("state", onState);
  });
}

/** Lines of the form "<key> <value>" that a service script printed, as a map. */
export function reported(log: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of log.split("\n")) {
    const m = /^(\w+) (.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}
