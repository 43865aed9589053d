/**
 * A cgroup for each run of a service, when the agent may make one: root, and a
 * writable hierarchy. cgroup v2 (unified) when <root>/cgroup.controllers exists,
 * else v1 with separate cpu and memory hierarchies. It does two jobs:
 * - It records who belongs to the run, as systemd's and the kubelet's do: a daemon
 *   that left the service's session with a second setsid() is still in it, and a
 *   stop reads it instead of scanning /proc (process-group.ts). Every run gets one.
 * - It enforces CPU and memory limits, when the spec asks for them. Only then are
 *   controllers delegated and limits written.
 * Anything else — no root, read-only /sys, a controller missing — means the service
 * runs without one, and with limits the caller reports why instead of failing:
 * limits protect the host, but refusing to run the one service the host is for
 * would protect nothing.
 *
 * Which file gets which value is pure (cgroupWrites); the rest is a thin shell.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync, type Dirent } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { listChildren, parsePids, readProcStat } from "./proc.js";

export const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";
/** The CFS period the kernel defaults to: 100 ms. */
export const CFS_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms. */
const MIN_QUOTA_US = 1_000;

export interface CgroupLimits {
  /** CPUs (1.5 = one and a half cores); ≤ 0 = no limit. */
  cpu: number;
  /** ≤ 0 = no limit. */
  memoryMb: number;
}

export type CgroupLayout =
  | { kind: "v2"; dir: string; parent: string; root: string }
  | { kind: "v1"; cpuDir: string; memoryDir: string };

/** Microseconds of CPU time per period, or null for "no limit". 0.5 CPU → 50000 of 100000. */
export function cpuQuotaUs(cpu: number, periodUs = CFS_PERIOD_US): number | null {
  if (!(cpu > 0) || !Number.isFinite(cpu)) return null;
  return Math.max(MIN_QUOTA_US, Math.round(cpu * periodUs));
}

/** cgroup v2 cpu.max: "<quota> <period>", "max <period>" when unlimited. */
export function cpuMaxValue(cpu: number, periodUs = CFS_PERIOD_US): string {
  return `${cpuQuotaUs(cpu, periodUs) ?? "max"} ${periodUs}`;
}

/** Bytes, or null for "no limit". */
export function memoryLimitBytes(memoryMb: number): number | null {
  if (!(memoryMb > 0) || !Number.isFinite(memoryMb)) return null;
  return Math.round(memoryMb * 1024 * 1024);
}

/**
 * The cgroup's name under berth/: the instance id plus a tag of the state file's
 * path. Cgroups are machine-wide, but an instance id is unique only per fleet:
 * in dev mode several agents share one machine, and during a move the old and
 * the new host both run "web-0". Sharing one cgroup, the first to stop would
 * kill the other's process. The state file lives in the agent's data dir, so
 * the tag tells agents apart and stays the same across an agent's restarts.
 * Example: web-0-3f2a9c1e.
 */
export function cgroupName(instanceId: string, stateFile: string): string {
  const tag = createHash("sha256").update(path.resolve(stateFile)).digest("hex").slice(0, 8);
  return `${instanceId}-${tag}`;
}

/** The layout for cgroup `name` under `root`, judged by which files exist. */
export function chooseLayout(root: string, name: string, exists: (p: string) => boolean): CgroupLayout | { kind: "none"; reason: string } {
  if (exists(path.join(root, "cgroup.controllers"))) {
    const parent = path.join(root, "berth");
    return { kind: "v2", root, parent, dir: path.join(parent, name) };
  }
  const cpu = path.join(root, "cpu");
  const memory = path.join(root, "memory");
  if (exists(path.join(cpu, "cpu.cfs_quota_us")) && exists(path.join(memory, "memory.limit_in_bytes"))) {
    return { kind: "v1", cpuDir: path.join(cpu, "berth", name), memoryDir: path.join(memory, "berth", name) };
  }
  return { kind: "none", reason: `no cgroup v2 hierarchy nor v1 cpu and memory controllers under ${root}` };
}

/**
 * The writes that set the limits, in order. v2 must first delegate the cpu and
 * memory controllers to berth/ (subtree_control), or cpu.max and memory.max do
 * not exist in the child. v1 sets the period before the quota, since the kernel
 * checks the quota against the current period.
 */
export function cgroupWrites(layout: CgroupLayout, limits: CgroupLimits): Array<{ file: string; value: string }> {
  const quota = cpuQuotaUs(limits.cpu);
  const bytes = memoryLimitBytes(limits.memoryMb);
  switch (layout.kind) {
    case "v2":
      return [
        { file: path.join(layout.root, "cgroup.subtree_control"), value: "+cpu +memory" },
        { file: path.join(layout.parent, "cgroup.subtree_control"), value: "+cpu +memory" },
        { file: path.join(layout.dir, "cpu.max"), value: cpuMaxValue(limits.cpu) },
        { file: path.join(layout.dir, "memory.max"), value: bytes === null ? "max" : String(bytes) },
      ];
    case "v1":
      return [
        { file: path.join(layout.cpuDir, "cpu.cfs_period_us"), value: String(CFS_PERIOD_US) },
        { file: path.join(layout.cpuDir, "cpu.cfs_quota_us"), value: String(quota ?? -1) },
        { file: path.join(layout.memoryDir, "memory.limit_in_bytes"), value: String(bytes ?? -1) },
      ];
    default:
      return assertNever(layout);
  }
}

/** The cgroup directories of a layout; the first one's cgroup.procs lists the members. */
export function cgroupDirs(layout: CgroupLayout): string[] {
  switch (layout.kind) {
    case "v2":
      return [layout.dir];
    case "v1":
      return [layout.cpuDir, layout.memoryDir];
    default:
      return assertNever(layout);
  }
}

/** What the supervisor keeps (and writes to its state file) to use and later remove the cgroup. */
export interface CgroupHandle {
  kind: "v1" | "v2";
  dirs: string[];
}

export type CgroupSetup = { ok: true; handle: CgroupHandle } | { ok: false; reason: string };

/**
 * Creates the cgroup and, with `limits`, delegates the controllers and writes them;
 * null: membership only (no controller is needed to hold processes, and none is
 * switched on host-wide for it). On any failure removes what it made and says why.
 */
export function createCgroup(name: string, limits: CgroupLimits | null, root = DEFAULT_CGROUP_ROOT): CgroupSetup {
  const layout = chooseLayout(root, name, existsSync);
  if (layout.kind === "none") return { ok: false, reason: layout.reason };
  const handle: CgroupHandle = { kind: layout.kind, dirs: cgroupDirs(layout) };
  try {
    for (const dir of handle.dirs) mkdirSync(dir, { recursive: true });
    for (const w of limits ? cgroupWrites(layout, limits) : []) writeFileSync(w.file, w.value);
    return { ok: true, handle };
  } catch (e) {
    removeCgroupQuietly(handle);
    return { ok: false, reason: `cannot set up ${layout.kind} cgroup: ${errorText(e)}` };
  }
}

/**
 * Moves `pid` into every hierarchy of the cgroup, then each child it has forked by
 * then, and theirs: the move waits for the kernel (5–15 ms after a quiet spell, an
 * RCU grace period) while the new process already runs, and what it forks before
 * the move stays where it was. Each process is moved before its children are
 * listed, so none forked meanwhile is missed; later ones are born inside. Throws
 * when `pid` itself cannot be moved; a child that exits meanwhile is skipped.
 */
export function joinCgroup(handle: CgroupHandle, pid: number): void {
  const order = moveOrder(pid);
  for (let next = order.next(); !next.done; ) {
    let moved = true;
    try {
      for (const dir of handle.dirs) writeFileSync(path.join(dir, "cgroup.procs"), String(next.value));
    } catch (e) {
      if (next.value === pid) throw e;
      moved = false; // gone already
    }
    next = order.next(moved);
  }
}

/**
 * joinCgroup off the agent's main thread (each write waits for the kernel in
 * libuv's pool): for what runs beside the service on its behalf, an exec health
 * check, whose first milliseconds outside the cgroup matter less than the agent's
 * checks and stream, which a blocking move would hold up every time. The process
 * may be reaped meanwhile: with `startTime` (read while it could not have been),
 * a pid that names another process by now is not moved.
 */
export async function joinCgroupAsync(handle: CgroupHandle, pid: number, startTime?: number): Promise<void> {
  // Not ours to move once it is gone: its pid may be another process's by now (ESRCH, as the kernel says for a pid it has not).
  if (startTime !== undefined && readProcStat(pid)?.startTime !== startTime) throw Object.assign(new Error(`process ${pid} is gone`), { code: "ESRCH" });
  const order = moveOrder(pid);
  for (let next = order.next(); !next.done; ) {
    let moved = true;
    try {
      for (const dir of handle.dirs) await writeFile(path.join(dir, "cgroup.procs"), String(next.value));
    } catch (e) {
      if (next.value === pid) throw e;
      moved = false;
    }
    next = order.next(moved);
  }
}

/**
 * The order of a move: `pid`, then each child of a process moved, and theirs,
 * each once. The caller says (through next()) whether the last one moved; the
 * children of one that did not are not looked for.
 */
function* moveOrder(pid: number): Generator<number, void, boolean | undefined> {
  const seen = new Set<number>();
  const todo = [pid];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    if (seen.has(p)) continue;
    seen.add(p);
    const moved = yield p;
    if (moved !== false) todo.push(...listChildren(p));
  }
}

/**
 * Every pid in the cgroup, in each of its hierarchies and the cgroups a service
 * run as root may have made inside it: processes that escaped the process group
 * with setsid() included.
 */
export function cgroupPids(handle: CgroupHandle): number[] {
  const pids = new Set<number>();
  for (const dir of handle.dirs) collectPids(dir, pids, 0);
  return [...pids].sort((a, b) => a - b);
}

/**
 * Whether `pid` is in the cgroup in each of its hierarchies (in it or in a cgroup the
 * service made inside it): false when a move into it was cut short.
 */
export function cgroupHolds(handle: CgroupHandle, pid: number): boolean {
  return handle.dirs.every((dir) => {
    const pids = new Set<number>();
    collectPids(dir, pids, 0);
    return pids.has(pid);
  });
}

/** Deep enough for any tree a service would make; a bound all the same. */
const MAX_CGROUP_DEPTH = 8;

function collectPids(dir: string, into: Set<number>, depth: number): void {
  let text: string;
  try {
    text = readFileSync(path.join(dir, "cgroup.procs"), "utf8");
  } catch {
    return;
  }
  for (const pid of parsePids(text)) into.add(pid);
  if (depth >= MAX_CGROUP_DEPTH) return;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) collectPids(path.join(dir, e.name), into, depth + 1);
}

/**
 * Removes the cgroup directories. rmdir fails with EBUSY while a member lives,
 * so the caller empties it first; returns the directories that are still there.
 */
export function removeCgroupQuietly(handle: CgroupHandle): string[] {
  const left: string[] = [];
  for (const dir of handle.dirs) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") left.push(dir);
    }
  }
  return left;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
