/**
 * One `berth dev` per data dir: DATA_DIR/dev.pid says which process runs the fleet
 * kept there, and where its controller listens. A second `berth dev` (a second
 * `npm start`) reads it and stops at once, naming the running one, instead of
 * starting a controller that cannot take the store's lock (or, worse, talking to
 * the first fleet's controller and calling the result its own).
 *
 * A file left by a fleet that died without cleaning up (SIGKILL, power cut) names
 * a process that is gone, or one that is not `berth dev` (its pid reused): it is
 * replaced, so a crash never needs a manual `rm`.
 */
import { readFileSync } from "node:fs";
import { readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface DevFleet {
  pid: number;
  dataDir: string;
  addr: string;
}

/** Another `berth dev` runs a fleet from this data dir. */
export class FleetRunningError extends Error {
  constructor(readonly running: DevFleet) {
    super(`a local fleet is already running from ${running.dataDir}: berth dev pid ${running.pid}, controller on ${running.addr}`);
    this.name = "FleetRunningError";
  }
}

export function devLockPath(dataDir: string): string {
  return join(dataDir, "dev.pid");
}

/** What a pid file holds, or undefined when it is not one of ours (torn, hand-edited). */
function parse(text: string): DevFleet | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null) return undefined;
    const { pid, dataDir, addr } = v as Record<string, unknown>;
    if (!Number.isInteger(pid) || typeof dataDir !== "string" || typeof addr !== "string") return undefined;
    return { pid: pid as number, dataDir, addr };
  } catch {
    return undefined;
  }
}

/** Whether pid is a live `berth dev` (not a process that later got the same pid). */
function isDevProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("dev");
  } catch {
    return true; // no /proc: trust that it is alive
  }
}

/**
 * Claims dataDir for this process, or throws FleetRunningError naming the fleet
 * that holds it. Returns the release, which removes the file only while it is ours.
 */
export async function claimDevFleet(me: DevFleet): Promise<() => Promise<void>> {
  const path = devLockPath(me.dataDir);
  // Two tries: the second after removing a stale file. O_EXCL ('wx') settles a race
  // between two starts at the same moment: one creates the file, the other reads it.
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, JSON.stringify(me) + "\n", { flag: "wx", mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw e;
    }
    const text = await readFile(path, "utf8").catch(() => "");
    const other = parse(text);
    if (other && other.pid !== me.pid && isDevProcess(other.pid)) throw new FleetRunningError(other);
    await unlink(path).catch(() => undefined);
  }
  return async () => {
    const now = parse(await readFile(path, "utf8").catch(() => ""));
    if (now?.pid === me.pid) await unlink(path).catch(() => undefined);
  };
}
