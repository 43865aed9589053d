/**
 * What a `berth dev` agent leaves when it dies on its own (kill -9, a crash): its
 * services, which it would have stopped on its way out. Stopping the fleet stops
 * them too, found as a service's processes are: their working directory is below
 * their host's `instances/` (an instance runs in its unpacked artifact there) and
 * their environment names the instance (BERTH_INSTANCE) — so a shell someone opened
 * in that folder by hand is left alone.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** Pids of the service processes running below `dir` (this process left out). */
export function processesIn(dir: string, procRoot = "/proc"): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return pids;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(join(procRoot, name, "cwd"));
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (cwd !== dir && !cwd.startsWith(`${dir}/`)) continue;
    try {
      if (readFileSync(join(procRoot, name, "environ"), "latin1").split("\0").some((v) => v.startsWith("BERTH_INSTANCE="))) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * SIGTERM to every process below `dir`, up to `graceMs` for them to go, then SIGKILL
 * to what is left. Returns the pids it found.
 */
export async function stopProcessesIn(dir: string, graceMs = 5000): Promise<number[]> {
  const pids = processesIn(dir);
  if (!pids.length) return pids;
  const signal = (sig: NodeJS.Signals) => (pid: number): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  };
  pids.forEach(signal("SIGTERM"));
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  pids.filter(alive).forEach(signal("SIGKILL"));
  return pids;
}
