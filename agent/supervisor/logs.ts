/**
 * The service's output: size-rotated files `<name>.log`, `<name>.log.1` …
 * `<name>.log.<files−1>` in the log dir, newest first, at most `files` files of
 * about `maxBytes` each.
 *
 * Why files and copy-truncate. The service must outlive the agent (an agent
 * upgrade or crash must not take the service down), so its stdout/stderr cannot
 * be a pipe the agent reads: when the agent dies the pipe breaks and the next
 * write kills the service with SIGPIPE (or blocks it once the pipe is full). A
 * log-writer process of its own (Nomad's logmon, conmon) survives, but is one
 * more process to supervise, re-adopt and upgrade. Instead the service's
 * stdout and stderr are one file descriptor of `<name>.log`, opened O_APPEND by
 * the agent and inherited by the service: the kernel writes the bytes, nobody
 * has to be alive to read them. The service keeps that descriptor for its whole
 * life, so rotation cannot rename the file away (the service would keep writing
 * into the renamed file); it copies the file to `.log.1` and truncates the
 * original to 0 (logrotate's copytruncate). O_APPEND makes that safe: every
 * write of the service lands at the current end, so after the truncation it
 * writes at offset 0 rather than leaving a hole.
 *
 * The costs, accepted: bytes written between the end of the copy and the
 * truncation are lost (the copy catches up once, synchronously, right before
 * truncating, so the window is one small read); the size limit is checked by
 * the agent on a timer, so a file can overshoot by what is written between two
 * checks, and grows unchecked while no agent is running.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { copyFile, open, rename, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeoutClamped } from "../../shared/timer.js";

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES = 3;

export interface LogFilesOptions {
  dir: string;
  /** The file stem: the instance id. */
  name: string;
  /** Rotate once the current file holds this much. @default 10 MiB */
  maxBytes: number;
  /** Files kept, the current one included (so ≥ 2). @default 3 */
  files: number;
}

export class LogConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LogConfigError";
  }
}

export function checkLogOptions(opts: LogFilesOptions): void {
  if (!Number.isInteger(opts.files) || opts.files < 2) {
    throw new LogConfigError(`logFiles must be an integer ≥ 2 (the current file and at least one rotated), got ${opts.files}`);
  }
  if (!(opts.maxBytes > 0)) throw new LogConfigError(`logMaxBytes must be > 0, got ${opts.maxBytes}`);
}

/** [current, .1, .2, …]: newest first. */
export function logPaths(opts: Pick<LogFilesOptions, "dir" | "name" | "files">): string[] {
  const base = path.join(opts.dir, `${opts.name}.log`);
  return [base, ...Array.from({ length: opts.files - 1 }, (_, i) => `${base}.${i + 1}`)];
}

/** A descriptor of the current file for the child's stdout and stderr; the caller closes its copy after spawn. */
export function openLogForChild(opts: LogFilesOptions): number {
  return openSync(logPaths(opts)[0] ?? "", constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
}

/**
 * Rotates when the current file has reached maxBytes; returns whether it did.
 * Must not run twice at once for one log (the supervisor's timer guards that).
 *
 * Order matters for followLog: the older files shift first (so `.1` disappears),
 * the copy goes to `.1.tmp`, the original is truncated, and only then does the
 * copy become `.1`. A reader that sees a new `.1` therefore knows the
 * truncation has happened, and `.1` holds exactly the bytes the current file
 * held before it, at the same offsets.
 */
export async function rotateIfNeeded(opts: LogFilesOptions): Promise<boolean> {
  const paths = logPaths(opts);
  const current = paths[0] ?? "";
  const first = paths[1] ?? "";
  let size: number;
  try {
    size = (await stat(current)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
  if (size < opts.maxBytes) return false;
  for (let i = paths.length - 1; i >= 2; i--) {
    await renameIfExists(paths[i - 1] ?? "", paths[i] ?? "");
  }
  const tmp = `${first}.tmp`;
  await copyFile(current, tmp);
  catchUpAndTruncate(current, tmp);
  await rename(tmp, first);
  return true;
}

/**
 * Appends to `copy` what was written to `current` during the asynchronous copy,
 * then truncates `current` — synchronously, so nothing else of ours runs in
 * between and the window in which the service's writes are lost stays one read.
 */
function catchUpAndTruncate(current: string, copy: string): void {
  const src = openSync(current, "r+");
  try {
    const dst = openSync(copy, "a");
    try {
      let pos = fstatSync(dst).size;
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(src, buf, 0, buf.length, pos);
        if (n === 0) break;
        writeSync(dst, buf, 0, n);
        pos += n;
      }
    } finally {
      closeSync(dst);
    }
    ftruncateSync(src, 0);
  } finally {
    closeSync(src);
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/**
 * The last `n` lines of `buf`. A final line without "\n" counts as a line; the
 * "\n" that ends the last line does not start another one.
 */
export function lastLines(buf: Buffer, n: number): Buffer {
  if (n <= 0) return Buffer.alloc(0);
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (buf[i] === 0x0a && ++seen === n) return buf.subarray(i + 1);
  }
  return buf;
}

const CHUNK = 64 * 1024;
/**
 * At most this much is read back for a tail, whatever the line count asks: output with
 * no newlines (a service writing one endless line) had the agent read every rotated file
 * into memory. What is cut is said on a line of its own before the rest.
 */
export const TAIL_MAX_BYTES = 16 * 1024 * 1024;

/** The last `lines` lines across the rotated files (for `berth logs -n`), at most TAIL_MAX_BYTES of them. */
export async function tailLog(opts: LogFilesOptions, lines: number, maxBytes = TAIL_MAX_BYTES): Promise<string> {
  const parts: Buffer[] = [];
  let newlines = 0;
  let read = 0;
  let cut = false;
  // Newest file first, each read backwards, until there is one line more than needed.
  for (const file of logPaths(opts)) {
    let fh;
    try {
      fh = await open(file, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    try {
      let pos = (await fh.stat()).size;
      while (pos > 0 && newlines <= lines) {
        if (read >= maxBytes) {
          cut = true;
          break;
        }
        const len = Math.min(CHUNK, pos, maxBytes - read);
        pos -= len;
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, pos);
        const got = buf.subarray(0, bytesRead);
        read += bytesRead;
        parts.unshift(got);
        for (const b of got) if (b === 0x0a) newlines++;
      }
    } finally {
      await fh.close();
    }
    if (newlines > lines || cut) break;
  }
  const tail = lastLines(Buffer.concat(parts), lines);
  // Cut short and still short of the lines asked for: the first line shown is a piece of one.
  return cut && tail.length === read ? `[berth: only the last ${Math.round(maxBytes / 1024)} KiB of output are read back for a tail]\n${tail.toString("utf8")}` : tail.toString("utf8");
}

export interface LogFollower {
  close(): void;
  /**
   * Stops reading (flow control: the reader is behind). The file is the buffer:
   * nothing is lost while paused, unless more than one rotation passes meanwhile.
   */
  pause(): void;
  /** Reads on from where it stopped. */
  resume(): void;
}

/**
 * Calls onData with every byte appended from now on, across rotations (for
 * `berth logs -f`; call tailLog first for the history). Polls every pollMs:
 * fs.watch misses writes made through another process's descriptor on some
 * filesystems, and a poll also sees a truncation.
 *
 * Rotation is recognised by `.1` changing identity (see rotateIfNeeded for why
 * that is the signal): the unread rest of the old generation is then read from
 * `.1` at the same offset, and reading starts over at 0 in the current file.
 * Only when more than one rotation happens between two polls (or during a pause)
 * are bytes skipped.
 *
 * pause() takes effect before the next read: at most one chunk (64 KiB) reaches
 * onData after it.
 */
export function followLog(opts: LogFilesOptions, onData: (chunk: Buffer) => void, pollMs = 250): LogFollower {
  const [current = "", first = ""] = logPaths(opts);
  let closed = false;
  let paused = false;
  let polling = false;
  let timer: NodeJS.Timeout | undefined;
  // Where we stand, taken synchronously so nothing written after follow() returns is missed.
  let firstId = identitySync(first);
  let offset = sizeSync(current) ?? 0;

  /** Reads from `from` until the end, a pause or a close; returns where it stopped and whether that was the end. */
  const readFrom = async (p: string, from: number): Promise<{ pos: number; atEnd: boolean }> => {
    let fh;
    try {
      fh = await open(p, "r");
    } catch {
      return { pos: from, atEnd: true };
    }
    try {
      let pos = from;
      for (;;) {
        if (closed || paused) return { pos, atEnd: false };
        const buf = Buffer.alloc(CHUNK);
        const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
        if (bytesRead === 0 || closed) return { pos, atEnd: bytesRead === 0 };
        onData(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
  };

  const poll = async (): Promise<void> => {
    const id = identitySync(first);
    // Mid-rotation: .1 has shifted to .2 and the copy is not in place yet.
    if (id === null && firstId !== null) return;
    if (id !== firstId) {
      // A rotation finished: the rest of the old generation is in .1 at the same offsets.
      const r = await readFrom(first, offset);
      // Paused within it: the next poll goes on reading .1 from there.
      if (!r.atEnd) {
        offset = r.pos;
        return;
      }
      firstId = id;
      offset = 0;
    }
    const size = sizeSync(current);
    // Shorter than what we read: truncated, and the new .1 is not in place yet.
    if (size === null || size <= offset) return;
    offset = (await readFrom(current, offset)).pos;
  };

  const schedule = (ms: number): void => {
    if (closed || paused || polling) return;
    clearTimeout(timer);
    timer = setTimeoutClamped(() => {
      polling = true;
      const next = (): void => {
        polling = false;
        schedule(pollMs);
      };
      poll().then(next, next);
    }, ms);
  };
  schedule(pollMs);
  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
    },
    pause(): void {
      paused = true;
      if (timer) clearTimeout(timer);
    },
    resume(): void {
      if (!paused) return;
      paused = false;
      // At once: the reader has room now (a poll in flight reschedules itself).
      schedule(0);
    },
  };
}

function identitySync(p: string): string | null {
  try {
    const s = statSync(p);
    return `${s.dev}:${s.ino}:${s.birthtimeMs}`;
  } catch {
    return null;
  }
}

function sizeSync(p: string): number | null {
  try {
    return statSync(p).size;
  } catch {
    return null;
  }
}
