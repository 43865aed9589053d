/**
 * One `berth dev` per data dir: DATA_DIR/dev.pid says which process runs the fleet
 * kept there, and where its controller listens. A second `berth dev` (a second
 * `npm start`) reads it and stops at once, naming the running one, instead of
 * starting a controller that cannot take the store's lock (or, worse, talking to
 * the first fleet's controller and calling the result its own).
 *
 * A file left by a fleet that died without cleaning up is replaced (shared/pid-lock.ts).
 */
import { join } from "node:path";
import { claimPidFile, isLiveProcessOf } from "../shared/pid-lock.js";

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

/**
 * Claims dataDir for this process, or throws FleetRunningError naming the fleet
 * that holds it. Returns the release, which removes the file only while it is ours.
 */
export async function claimDevFleet(me: DevFleet): Promise<() => Promise<void>> {
  const c = await claimPidFile(devLockPath(me.dataDir), me, { parse, isHolder: (pid) => isLiveProcessOf(pid, "dev") });
  if (!c.ok) throw new FleetRunningError(c.holder);
  return c.release;
}
