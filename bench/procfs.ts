/**
 * Linux /proc readers for the bench: another process's CPU time and memory, and
 * the machine's CPU time. Read from /proc rather than asked of the process, so the
 * controller under test runs unmodified and pays nothing for being measured.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clockTicks: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on virtually every Linux). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcCpu {
  /** utime + stime of the process, in ms. */
  cpuMs: number;
  /** stime alone: the kernel's share (socket syscalls, loopback TCP). */
  sysMs: number;
  /** When it was read (performance.now()). */
  atMs: number;
}

/** CPU time used so far by `pid` (all its threads: JS, libuv pool, GC helpers). */
export function readProcCpu(pid: number): ProcCpu {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Field 2 (comm) is in parentheses and may itself contain spaces or ")": split after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state), so utime (field 14) is rest[11] and stime (field 15) rest[12].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  const tick = 1000 / clockTicksPerSecond();
  return { cpuMs: (utime + stime) * tick, sysMs: stime * tick, atMs: performance.now() };
}

/** CPU use between two readings as a percentage of ONE core (can exceed 100 with threads). */
export function cpuPctOfCore(a: ProcCpu, b: ProcCpu): number {
  const wall = b.atMs - a.atMs;
  return wall > 0 ? (100 * (b.cpuMs - a.cpuMs)) / wall : 0;
}

export interface ThreadCpu {
  tid: number;
  cpuMs: number;
}

/**
 * CPU time per thread of `pid`. Tells the main (JS) thread, which a --cpu-prof
 * profile covers, from GC helpers, V8 compilers and the libuv pool, which it does not.
 */
export function readThreadCpu(pid: number): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({ tid: Number(tid), cpuMs: ((Number(rest[11]) + Number(rest[12])) * 1000) / clockTicksPerSecond() });
    } catch {
      // The thread ended between readdir and read: it has nothing more to report.
    }
  }
  return out;
}

/**
 * CPU between two readings, % of one core, split into the main thread (tid = pid:
 * the JS event loop, what --cpu-prof samples) and all other threads together. Node
 * names every thread "node", so the split is by tid, not by name.
 */
export function threadCpuSplit(pid: number, a: ThreadCpu[], b: ThreadCpu[], wallMs: number): { mainPct: number; otherPct: number; others: number } {
  const before = new Map(a.map((t) => [t.tid, t.cpuMs]));
  let main = 0;
  let other = 0;
  let others = 0;
  for (const t of b) {
    const d = t.cpuMs - (before.get(t.tid) ?? 0);
    if (t.tid === pid) main += d;
    else {
      other += d;
      others++;
    }
  }
  const pct = (ms: number): number => (wallMs > 0 ? (100 * ms) / wallMs : 0);
  return { mainPct: pct(main), otherPct: pct(other), others };
}

export interface ProcMem {
  rssMb: number;
  /** Anonymous memory: heaps (V8, malloc: OpenSSL and nghttp2 buffers), stacks. */
  anonMb: number;
  /** File-backed pages: mostly the node binary's own code. */
  fileMb: number;
  /** VmHWM: the peak RSS over the process's whole life (includes setup, e.g. joins). */
  hwmMb: number;
}

export function readProcMem(pid: number): ProcMem {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) : 0;
  };
  return { rssMb: kb("VmRSS") / 1024, anonMb: kb("RssAnon") / 1024, fileMb: kb("RssFile") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

/**
 * Where a process's resident memory lies, from /proc/<pid>/smaps: glibc's main heap
 * (`[heap]`, the brk area: what C++ and OpenSSL allocate on the main thread), the
 * other anonymous mappings (V8's heap pages, thread arenas, mmap'd buffers) and files.
 */
export interface ProcMemSplit {
  heapMb: number;
  otherAnonMb: number;
  fileMb: number;
}

export function readProcMemSplit(pid: number): ProcMemSplit {
  const out = { heapMb: 0, otherAnonMb: 0, fileMb: 0 };
  let kind: keyof ProcMemSplit = "otherAnonMb";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    // A mapping's header: "start-end perms offset dev inode [path]".
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (m) kind = m[2] === "[heap]" ? "heapMb" : m[1] !== "0" ? "fileMb" : "otherAnonMb";
    else if (line.startsWith("Rss:")) out[kind] += Number(/(\d+)/.exec(line)?.[1] ?? 0) / 1024;
  }
  return out;
}

export interface MachineCpu {
  busyTicks: number;
  totalTicks: number;
  cores: number;
}

/** The aggregate "cpu" line of /proc/stat; iowait counts as idle (nothing was running). */
export function readMachineCpu(): MachineCpu {
  const text = readFileSync("/proc/stat", "utf8");
  const lines = text.split("\n");
  const total = lines[0]?.split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal ...
  const idle = (total[3] ?? 0) + (total[4] ?? 0);
  const sum = total.slice(0, 8).reduce((s, v) => s + (Number.isFinite(v) ? v : 0), 0);
  const cores = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { busyTicks: sum - idle, totalTicks: sum, cores: Math.max(1, cores) };
}

/** Busy share of the whole machine between two readings, in % of ALL cores (0–100). */
export function machineBusyPct(a: MachineCpu, b: MachineCpu): number {
  const dt = b.totalTicks - a.totalTicks;
  return dt > 0 ? (100 * (b.busyTicks - a.busyTicks)) / dt : 0;
}
