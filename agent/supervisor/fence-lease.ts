/**
 * The fencing lease: what lets a self-fenced instance stop even when its agent is
 * dead (killed, hung, SIGSTOPped). The agent cannot fence then, yet the controller
 * starts a replacement after stopAfterDisconnect + stopTimeout + margin, so
 * without a second stopper two copies would run.
 *
 * The agent writes the lease (a small 0600 file beside the supervisor's record):
 * the deadline by which it must hear from the controller again, on CLOCK_MONOTONIC
 * (process.hrtime, shared by every process of one boot; NTP never steps it). A
 * watchdog process (fence-watchdog.ts), detached in a session of its own so a
 * signal to the agent's group never reaches it, reads the lease every
 * WATCHDOG_CHECK_MS. When the deadline has passed by WATCHDOG_GRACE_MS it stops
 * the instance exactly as the agent would (the supervisor's record: stop signal
 * to the group, stopTimeout, SIGKILL). A live agent keeps the lease fresh while
 * the controller answers and removes it when it stops the instance itself, and
 * the watchdog exits when the lease is gone: it never fights the agent.
 *
 * The watchdog is not the service: the supervisor's record, health checks and
 * `berth logs` still name the service process. A restarted agent finds the
 * watchdog by its pid file (pid + start time) and starts one only when none runs.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { writeFileAtomicSync } from "../../shared/state-file.js";
import { builtFile } from "../../shared/package-root.js";
import { isLive, readProcStat } from "./proc.js";

const leaseSchema = z.object({ version: z.literal(1), deadlineMono: z.number() });
const pidSchema = z.object({ pid: z.number().int().positive(), startTime: z.number() });

export interface LeaseFiles {
  /** The lease itself. */
  lease: string;
  /** The supervisor's record of the service process (state-file.ts): what the watchdog stops. */
  record: string;
  /** Names the running watchdog (pid + start time). */
  pidFile: string;
  /** The watchdog's own output. */
  logFile: string;
  /** Written by the watchdog when it stopped the instance, for the next agent to report (takeFencedMark). */
  fencedMark: string;
}

/** The files for the supervisor record `record` (<dir>/<instance>.process.json → <dir>/<instance>.lease …). */
export function leaseFiles(record: string): LeaseFiles {
  const base = record.replace(/\.process\.json$/, "");
  return { lease: `${base}.lease`, record, pidFile: `${base}.watchdog.json`, logFile: `${base}.watchdog.log`, fencedMark: `${base}.fenced.json` };
}

const fencedMarkSchema = z.object({ version: z.literal(1), detail: z.string().max(4000), atMs: z.number().int().min(0) });
export type FencedMark = Omit<z.infer<typeof fencedMarkSchema>, "version">;

/** The watchdog stopped the instance in a dead agent's place: why, and when (wall clock). */
export function writeFencedMark(file: string, mark: FencedMark): void {
  writeFileAtomicSync(file, JSON.stringify({ version: 1, ...mark }) + "\n");
}

/**
 * What the watchdog left, once: the agent that starts next reports it (the controller
 * learns why the copy is gone) and removes it. Undefined when there is none or it
 * cannot be read as one.
 */
export function takeFencedMark(file: string): FencedMark | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  rmSync(file, { force: true });
  const parsed = fencedMarkSchema.safeParse((() => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  })());
  return parsed.success ? { detail: parsed.data.detail, atMs: parsed.data.atMs } : undefined;
}

export function writeLease(file: string, deadlineMono: number): void {
  writeFileAtomicSync(file, JSON.stringify({ version: 1, deadlineMono }) + "\n");
}

/** The deadline; null when there is no lease; "bad" when it cannot be read as one. */
export function readLease(file: string): number | null | "bad" {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    return "bad";
  }
  try {
    return leaseSchema.parse(JSON.parse(text)).deadlineMono;
  } catch {
    return "bad";
  }
}

export function removeLease(files: LeaseFiles): void {
  rmSync(files.lease, { force: true });
}

export type WatchdogVerdict = "exit" | "wait" | "fence";

/**
 * The watchdog's rule, pure. No lease: the agent stopped the instance (or the
 * watchdog fenced it already): exit. Past deadline + grace: fence. An unreadable
 * lease counts as the last good deadline (writes are atomic: only tampering makes one).
 */
export function watchdogVerdict(deadlineMono: number | null, nowMono: number, graceMs: number): WatchdogVerdict {
  if (deadlineMono === null) return "exit";
  return nowMono > deadlineMono + graceMs ? "fence" : "wait";
}

/** The watchdog named by the pid file, if it still runs (same pid and start time). */
export function runningWatchdog(files: LeaseFiles): number | undefined {
  let saved: { pid: number; startTime: number };
  try {
    saved = pidSchema.parse(JSON.parse(readFileSync(files.pidFile, "utf8")));
  } catch {
    return undefined;
  }
  const st = readProcStat(saved.pid);
  return isLive(st) && st.startTime === saved.startTime ? saved.pid : undefined;
}

/**
 * How to run fence-watchdog: the .ts through tsx (tests), or tsc's compiled .js — found
 * from the package root, since this code may run from the bundled CLI's chunks.
 */
function watchdogArgv(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) return ["--import", "tsx", here.replace(/fence-lease\.ts$/, "fence-watchdog.ts")];
  const js = builtFile("dist/agent/supervisor/fence-watchdog.js");
  if (!existsSync(js)) throw new Error(`fence watchdog not found at ${js}`);
  return [js];
}

/**
 * Starts the watchdog unless one runs already (a restarted agent re-adopts it).
 * The lease must exist first: a watchdog that finds none exits at once.
 * Returns the watchdog's pid.
 */
export function ensureWatchdog(files: LeaseFiles): number {
  const running = runningWatchdog(files);
  if (running !== undefined) return running;
  const fd = openSync(files.logFile, "a", 0o600);
  let pid: number | undefined;
  try {
    const child = spawn(process.execPath, [...watchdogArgv(), files.lease, files.record], {
      // A session of its own: the agent's death (kill -9 of its group included) must not take it along.
      detached: true,
      stdio: ["ignore", fd, fd],
      // Not the service's environment: nothing counts it as a copy of the service.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    child.on("error", () => undefined);
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new Error("cannot start the fence watchdog");
  writeFileAtomicSync(files.pidFile, JSON.stringify({ pid, startTime: readProcStat(pid)?.startTime ?? 0 }) + "\n");
  return pid;
}
