/**
 * The output files of instances that left this host (a failover, a move, a delete):
 * the `keep` most recently written stay (`berth logs NAME --host H` reads them back:
 * departedOutput), the rest are removed,
 * so a host that saw many services come and go does not fill its disk with their
 * logs — as Nomad collects the folders of stopped allocations and the kubelet the
 * logs of deleted pods. The instance the host runs is never touched.
 */
import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { TAIL_MAX_BYTES, tailLog } from "../supervisor/logs.js";

/** Instances' logs kept besides the one the host runs (agent.yaml keepLogs). */
export const DEFAULT_KEEP_LOGS = 5;
/** What is left of departedOutput's budget below this is not read: a tail of a few bytes is a fragment. */
const MIN_TAIL_BYTES = 64 * 1024;
/** Rotated files read back per instance at most. */
const MAX_ROTATIONS = 1_000;

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

/**
 * What this host kept of the output of `service`'s instances other than `except`
 * (the one it runs): each one's last `lines` lines under a line naming it and when it
 * last wrote, the most recent last; undefined when none is kept.
 */
export async function departedOutput(dir: string, service: string, except: string | undefined, lines: number): Promise<string | undefined> {
  const mine = (instance: string): boolean => instance.startsWith(`${service}-`) && /^\d+$/.test(instance.slice(service.length + 1));
  const sets = (await logSets(dir)).filter((s) => mine(s.instance) && s.instance !== except).sort((a, b) => a.newestMs - b.newestMs || a.instance.localeCompare(b.instance));
  if (sets.length === 0) return undefined;
  // One tail's bound in all (a host may keep up to 1,000 instances' logs): the most recent are
  // read first, and a remainder too small for a useful tail ends the reading.
  let budget = TAIL_MAX_BYTES;
  const parts: string[] = [];
  for (const set of sets.reverse()) {
    if (budget < MIN_TAIL_BYTES) {
      const n = sets.length - parts.length;
      parts.unshift(`[berth: ${n} older ${n === 1 ? "instance" : "instances"} of ${service} ${n === 1 ? "has" : "have"} output kept here too, past what one answer reads]\n`);
      break;
    }
    // Rotations are .log.1, .log.2 …: as many files as the highest one found (bounded: a stray
    // name must not make millions of paths), and the current.
    const files = 1 + Math.max(0, ...set.files.map((f) => Math.min(MAX_ROTATIONS, Number(/\.log\.(\d+)$/.exec(f)?.[1] ?? 0))));
    let text = await tailLog({ dir, name: set.instance, files: Math.max(2, files), maxBytes: 0 }, lines, budget);
    budget -= Buffer.byteLength(text);
    if (text !== "" && !text.endsWith("\n")) text += "\n";
    parts.unshift(`[berth: ${set.instance} left this host; its output here, last written ${new Date(set.newestMs).toISOString()}:]\n${text}`);
  }
  return parts.join("");
}
