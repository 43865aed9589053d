// Resource usage for heartbeats, and a background cache of host facts.
//
// Heartbeats must never wait on measurement: both classes here do their work on
// their own unref'd timers and hand out the last result synchronously.

import { statfs } from "node:fs/promises";
import os from "node:os";
import type { CpuInfo } from "node:os";
import si from "systeminformation";
import type { HostFacts } from "../../shared/gen/berth/v1/HostFacts.js";
import type { Usage } from "../../shared/gen/berth/v1/Usage.js";
import { collectFacts } from "./facts.js";
import { compact, isRecord, nonNegative, positive } from "./narrow.js";
import { SingleFlight, within } from "./within.js";
import { setIntervalClamped } from "../../shared/timer.js";

// ---- CPU ---------------------------------------------------------------------
//
// CPU % comes from os.cpus() time deltas between our own samples rather than
// si.currentLoad(): os.cpus() is one synchronous read of /proc/stat (~30 µs here),
// needs no child process, and the window is exactly our sampling interval.
// si.currentLoad() keeps its baseline in module-global state shared with every
// other caller in the process (any call resets the window) and is slow on its
// first call (~500 ms). Caveat: on Linux libuv's times omit iowait, softirq and
// steal, so the figure is "busy share of user+nice+sys+irq+idle" — it slightly
// understates load on softirq-heavy (network) hosts and ignores hypervisor steal.

export interface CpuTicks {
  /** user + nice + sys + irq, summed over all CPUs, in ms. */
  busy: number;
  /** busy + idle. */
  total: number;
  cpus: number;
}

/** Smallest window (per CPU) worth a percentage: ticks are 10 ms, so less is noise. */
export const MIN_CPU_WINDOW_MS = 100;

export function cpuTicks(cpus: readonly Pick<CpuInfo, "times">[]): CpuTicks | undefined {
  // os.cpus() is [] on some platforms/containers (e.g. no /proc/stat access).
  if (cpus.length === 0) return undefined;
  let busy = 0;
  let idle = 0;
  for (const { times } of cpus) {
    busy += times.user + times.nice + times.sys + times.irq;
    idle += times.idle;
  }
  return { busy, total: busy + idle, cpus: cpus.length };
}

/**
 * Busy share of the whole host between two snapshots, 0–100. Undefined when the
 * window is too short to mean anything, or the snapshots are not comparable (CPU
 * hot-plug changed the count, or counters went backwards).
 */
export function cpuPercent(prev: CpuTicks, next: CpuTicks): number | undefined {
  if (prev.cpus !== next.cpus) return undefined;
  const dt = next.total - prev.total;
  const db = next.busy - prev.busy;
  if (dt < MIN_CPU_WINDOW_MS * next.cpus || db < 0) return undefined;
  const pct = Math.min(100, Math.max(0, (100 * db) / dt));
  return Math.round(pct * 10) / 10;
}

// ---- memory and disk ---------------------------------------------------------

export interface Used {
  used: number;
  total: number;
}

/**
 * si.mem() → used/total. "Used" is si's `active`, not its `used`: on Linux `used`
 * is total − MemFree and so counts page cache, which the kernel gives back on
 * demand — a healthy host that has read a lot of files looks ~100 % full.
 * `active` is total − MemAvailable (what `free` calls unavailable), the memory
 * really taken; on macOS it is app + wired + compressed, as Activity Monitor
 * shows. Falls back to total − available if `active` is missing or absurd.
 */
export function memoryUsage(u: unknown): Used | undefined {
  if (!isRecord(u)) return undefined;
  const total = positive(u.total);
  if (total === undefined) return undefined;
  const active = nonNegative(u.active);
  if (active !== undefined && active <= total) return { used: active, total };
  const available = nonNegative(u.available);
  if (available !== undefined && available <= total) return { used: total - available, total };
  return undefined;
}

/**
 * node:os memory, for when si.mem() is unavailable. On Linux os.freemem() is
 * MemAvailable (libuv ≥ 1.45), so this matches memoryUsage's `active`; elsewhere
 * it is free pages only, so it overstates use — acceptable for a fallback.
 */
export function nodeOsMemory(totalmem: number, freemem: number): Used | undefined {
  const total = positive(totalmem);
  const free = nonNegative(freemem);
  if (total === undefined || free === undefined || free > total) return undefined;
  return { used: total - free, total };
}

/**
 * fs.statfs() → used/total, as df counts them: total = blocks × bsize, used =
 * (blocks − bfree) × bsize. Root-reserved blocks count as neither used nor
 * available to users, so used/total can read lower than "full" does.
 */
export function diskUsage(u: unknown): Used | undefined {
  if (!isRecord(u)) return undefined;
  const blocks = positive(u.blocks);
  const bfree = nonNegative(u.bfree);
  const bsize = positive(u.bsize);
  if (blocks === undefined || bfree === undefined || bsize === undefined || bfree > blocks) return undefined;
  return { used: (blocks - bfree) * bsize, total: blocks * bsize };
}

// ---- UsageSampler --------------------------------------------------------------

/** Where usage comes from. Injectable so tests can make parts slow or fail. */
export interface UsageSource {
  loadavg(): readonly number[];
  cpus(): readonly Pick<CpuInfo, "times">[];
  totalmem(): number;
  freemem(): number;
  mem(): Promise<unknown>;
  statfs(path: string): Promise<unknown>;
}

export const nodeUsageSource: UsageSource = {
  loadavg: () => os.loadavg(),
  cpus: () => os.cpus(),
  totalmem: () => os.totalmem(),
  freemem: () => os.freemem(),
  mem: () => si.mem(),
  // statfs of one path: one syscall, where si.fsSize() runs df over every mount.
  statfs: (path) => statfs(path),
};

export interface UsageSamplerOptions {
  /** The agent's data dir: disk usage is of the filesystem holding it. */
  dataDir: string;
  intervalMs: number;
  /** Clock for sample timestamps and durations (ms). */
  now?: () => number;
  /** Bound on each async part of a sample (default 5 s). */
  timeoutMs?: number;
  source?: UsageSource;
  /** Told about an unexpected sampling error (a bug, not a missing fact). */
  onError?: (err: unknown) => void;
}

export interface UsageSamplerStats {
  samples: number;
  /** Ticks skipped because the previous sample was still running. */
  skipped: number;
  lastSampleAt: number | undefined;
  lastDurationMs: number | undefined;
}

export class UsageSampler {
  private readonly dataDir: string;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly source: UsageSource;
  private readonly onError: ((err: unknown) => void) | undefined;
  // One call of each slow kind at a time: a hung statfs (dead NFS) or si.mem()
  // costs one stuck request, not one per tick piling onto libuv's 4 threads.
  private readonly memFlight: SingleFlight<unknown>;
  private readonly diskFlight: SingleFlight<unknown>;

  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<Usage> | undefined;
  private last: Usage | undefined;
  private lastDisk: Used | undefined;
  private cpuBase: CpuTicks | undefined;
  private lastCpu: number | undefined;
  private stat: UsageSamplerStats = { samples: 0, skipped: 0, lastSampleAt: undefined, lastDurationMs: undefined };

  constructor(opts: UsageSamplerOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${opts.intervalMs}`);
    this.dataDir = opts.dataDir;
    this.intervalMs = opts.intervalMs;
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.source = opts.source ?? nodeUsageSource;
    this.onError = opts.onError;
    this.memFlight = new SingleFlight(() => this.source.mem());
    this.diskFlight = new SingleFlight(() => this.source.statfs(this.dataDir));
    // Baseline now, so the first sample (or latest() before it) can already
    // compute a CPU % if enough time has passed.
    this.cpuBase = this.readCpu();
  }

  /** Starts sampling: one sample right away, then every intervalMs. Idempotent. */
  start(): void {
    if (this.timer) return;
    // unref: sampling alone must not keep the agent process alive.
    this.timer = setIntervalClamped(() => this.tick(), this.intervalMs);
    this.timer.unref();
    this.tick();
  }

  /** Stops the timer. A sample already running finishes and is still recorded. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The last sample, or — before the first one — a cheap one from node:os (load,
   * memory, CPU % if the window since construction is long enough; no disk,
   * since statfs is async). Synchronous: never waits for a sample.
   */
  latest(): Usage {
    if (this.last) return { ...this.last };
    const ticks = this.readCpu();
    const cpu = this.cpuBase && ticks ? cpuPercent(this.cpuBase, ticks) : undefined;
    return this.build(cpu, nodeOsMemory(this.source.totalmem(), this.source.freemem()), undefined);
  }

  stats(): UsageSamplerStats {
    return { ...this.stat };
  }

  /** Takes a sample now, or joins the one already running; records it. */
  sample(): Promise<Usage> {
    if (this.inFlight) return this.inFlight;
    const p = this.takeSample().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private tick(): void {
    // A slow sample never overlaps the next: skip this tick instead.
    if (this.inFlight) {
      this.stat.skipped++;
      return;
    }
    this.sample().catch((err: unknown) => this.onError?.(err));
  }

  private async takeSample(): Promise<Usage> {
    const started = this.now();
    const [mem, disk] = await Promise.all([
      within(() => this.memFlight.run(), this.timeoutMs),
      within(() => this.diskFlight.run(), this.timeoutMs),
    ]);

    const memory =
      (mem.ok ? memoryUsage(mem.value) : undefined) ?? nodeOsMemory(this.source.totalmem(), this.source.freemem());
    // statfs unavailable this time: the last known disk figures beat none (a
    // disk's size doesn't change and its use changes slowly).
    const diskNow = disk.ok ? diskUsage(disk.value) : undefined;
    if (diskNow) this.lastDisk = diskNow;

    const usage = this.build(this.advanceCpu(), memory, this.lastDisk);
    this.last = usage;
    const at = this.now();
    this.stat.samples++;
    this.stat.lastSampleAt = at;
    this.stat.lastDurationMs = at - started;
    return { ...usage };
  }

  /** CPU % since the baseline; moves the baseline only when the window was used. */
  private advanceCpu(): number | undefined {
    const ticks = this.readCpu();
    if (!ticks) return this.lastCpu;
    const base = this.cpuBase;
    if (!base || base.cpus !== ticks.cpus || ticks.total < base.total || ticks.busy < base.busy) {
      // Not comparable (first reading, hot-plug): start a new window.
      this.cpuBase = ticks;
      return this.lastCpu;
    }
    const pct = cpuPercent(base, ticks);
    // Too short a window: keep the baseline so the next sample gets a longer one,
    // and repeat the last figure meanwhile.
    if (pct === undefined) return this.lastCpu;
    this.cpuBase = ticks;
    this.lastCpu = pct;
    return pct;
  }

  private readCpu(): CpuTicks | undefined {
    try {
      return cpuTicks(this.source.cpus());
    } catch {
      return undefined;
    }
  }

  private build(cpu: number | undefined, memory: Used | undefined, disk: Used | undefined): Usage {
    let load: readonly number[] = [];
    try {
      load = this.source.loadavg();
    } catch {
      // No load average: leave the fields empty.
    }
    return compact({
      load1: nonNegative(load[0]),
      load5: nonNegative(load[1]),
      load15: nonNegative(load[2]),
      cpu_percent: cpu,
      memory_used_bytes: memory?.used,
      memory_total_bytes: memory?.total,
      disk_used_bytes: disk?.used,
      disk_total_bytes: disk?.total,
    });
  }
}

// ---- FactsCache ------------------------------------------------------------------

export const DEFAULT_FACTS_REFRESH_MS = 10 * 60_000;

export interface FactsCacheOptions {
  agentVersion: string;
  /** Background refresh period (default 10 minutes). */
  refreshMs?: number;
  /** What a refresh runs; defaults to collectFacts({ agentVersion }). */
  collect?: () => Promise<HostFacts>;
  /** Told when a background refresh fails (the previous facts are kept). */
  onError?: (err: unknown) => void;
}

/**
 * The last collected host facts, refreshed in the background. Facts change
 * rarely (a disk added, an address changed), and collecting them spawns several
 * processes, so callers read current() and never wait on collection.
 */
export class FactsCache {
  private readonly refreshMs: number;
  private readonly onError: ((err: unknown) => void) | undefined;
  private readonly flight: SingleFlight<HostFacts>;
  private facts: HostFacts | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: FactsCacheOptions) {
    this.refreshMs = opts.refreshMs ?? DEFAULT_FACTS_REFRESH_MS;
    if (!(this.refreshMs > 0)) throw new RangeError(`refreshMs must be > 0, got ${this.refreshMs}`);
    this.onError = opts.onError;
    const collect = opts.collect ?? (() => collectFacts({ agentVersion: opts.agentVersion }));
    this.flight = new SingleFlight(async () => {
      const facts = await collect();
      this.facts = facts;
      return facts;
    });
  }

  /** The last collected facts (treat as read-only), or undefined before the first. */
  current(): HostFacts | undefined {
    return this.facts;
  }

  /** Collects now (or joins a collection already running) and caches the result. */
  refresh(): Promise<HostFacts> {
    return this.flight.run();
  }

  /** Collects right away in the background, then every refreshMs. Idempotent. */
  start(): void {
    if (this.timer) return;
    this.timer = setIntervalClamped(() => this.background(), this.refreshMs);
    this.timer.unref();
    this.background();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private background(): void {
    this.refresh().catch((err: unknown) => this.onError?.(err));
  }
}
