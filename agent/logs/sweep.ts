/**
 * The output files of instances that left this host (a failover, a move, a delete):
 * the `keep` most recently written stay, for a look on the host, the rest are removed,
 * so a host that saw many services come and go does not fill its disk with their
 * logs — as Nomad collects the folders of stopped allocations and the kubelet the
 * logs of deleted pods. The instance the host runs is never touched.
 */
import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";

/** Instances' logs kept besides the one the host runs (agent.yaml keepLogs). */
export const DEFAULT_KEEP_LOGS = 5;

/** One instance's files: `web-0.log`, its rotations `web-0.log.1` …, and a rotation's copy in progress `.1.tmp`. */
const LOG_FILE = /^([a-z0-9][a-z0-9-]*-\d+)\.log(?:\.\d+(?:\.tmp)?)?$/;

export interface LogSet {
  instance: string;
  files: string[];
  /** When its newest file was last written (ms). */
  newestMs: number;
}

/** The sets to remove: every one but `inUse`'s, beyond the `keep` most recently written. Pure. */
export function logSetsToRemove(sets: readonly LogSet[], inUse: string | undefined, keep: number): LogSet[] {
  const others = sets.filter((s) => s.instance !== inUse).sort((a, b) => b.newestMs - a.newestMs || a.instance.localeCompare(b.instance));
  return others.slice(Math.max(0, keep));
}

/** Groups `dir`'s instance log files by instance (a missing dir has none; other files are left alone). */
export async function logSets(dir: string): Promise<LogSet[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const sets = new Map<string, LogSet>();
  for (const name of names) {
    const m = LOG_FILE.exec(name);
    if (!m) continue;
    let mtimeMs: number;
    try {
      const st = await stat(path.join(dir, name));
      if (!st.isFile()) continue;
      mtimeMs = st.mtimeMs;
    } catch {
      continue; // rotated or removed meanwhile
    }
    const instance = m[1]!;
    let set = sets.get(instance);
    if (!set) sets.set(instance, (set = { instance, files: [], newestMs: 0 }));
    set.files.push(name);
    set.newestMs = Math.max(set.newestMs, mtimeMs);
  }
  return [...sets.values()];
}

/** Removes the logs of instances other than `inUse` beyond the `keep` most recent; returns the instances whose logs went. */
export async function sweepLogs(dir: string, inUse: string | undefined, keep: number): Promise<string[]> {
  const gone = logSetsToRemove(await logSets(dir), inUse, keep);
  for (const set of gone) for (const f of set.files) await rm(path.join(dir, f), { force: true });
  return gone.map((s) => s.instance);
}
