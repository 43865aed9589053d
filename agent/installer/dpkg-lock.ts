/**
 * Who holds apt's and dpkg's locks. apt takes them with fcntl (POSIX) locks —
 * `flock(1)` takes BSD locks, which apt never sees — and the kernel lists every
 * POSIX lock in /proc/locks with the holder's pid, so reading that file answers
 * "who is in the way" without taking the lock ourselves.
 *
 * Used for two things: telling the operator why an install waits (apt-get is quiet
 * about it when its output is not a terminal), and waiting for the lists lock
 * before `apt-get update`, which unlike install does not honour
 * DPkg::Lock::Timeout in apt 2.6 and fails at once when the lock is taken.
 */
import { monoMs } from "../../shared/clock.js";
import { readFile, stat } from "node:fs/promises";
import { setTimeoutClamped } from "../../shared/timer.js";

export const DPKG_FRONTEND_LOCK = "/var/lib/dpkg/lock-frontend";
export const DPKG_LOCK = "/var/lib/dpkg/lock";
export const APT_LISTS_LOCK = "/var/lib/apt/lists/lock";

export interface LockHolder {
  pid: number;
  /** the holder's command name, from /proc/<pid>/comm; "" if it just exited */
  comm: string;
}

/** The process holding a POSIX lock on path, or null when none does (or path is missing). */
export async function lockHolder(path: string): Promise<LockHolder | null> {
  let ino: bigint;
  try {
    ino = (await stat(path, { bigint: true })).ino;
  } catch {
    return null;
  }
  let locks: string;
  try {
    locks = await readFile("/proc/locks", "utf8");
  } catch {
    return null; // not Linux, or /proc not mounted: no notice, apt still waits
  }
  for (const line of locks.split("\n")) {
    // "1: POSIX  ADVISORY  WRITE 11935 fe:00:399286 0 EOF"; blocked waiters are
    // listed as "1: -> POSIX ..." and are not holders.
    const m = /^\d+:\s+(POSIX|OFDLCK)\s+\S+\s+\S+\s+(-?\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m === null) continue;
    const [, , pidText = "", inoText = ""] = m;
    if (BigInt(inoText) !== ino) continue;
    const pid = Number(pidText);
    const comm = await readFile(`/proc/${pid}/comm`, "utf8").then(
      (s) => s.trim(),
      () => "",
    );
    return { pid, comm };
  }
  return null;
}

/**
 * Resolves when path is no longer locked, or with false when the deadline
 * (on the monotonic clock, shared/clock.ts) passes or signal aborts first. Polls: the kernel has no way to be
 * notified of another process's lock release.
 */
export async function waitForLockFree(path: string, deadline: number, signal?: AbortSignal, pollMs = 250): Promise<boolean> {
  while (true) {
    if (signal?.aborted === true) return false;
    if ((await lockHolder(path)) === null) return true;
    const left = deadline - monoMs();
    if (left <= 0) return false;
    await new Promise<void>((r) => setTimeoutClamped(r, Math.min(pollMs, left)));
  }
}
