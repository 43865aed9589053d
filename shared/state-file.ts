/**
 * How every state file is written: whole or not at all, and private.
 *
 * A crash (or power loss) mid-write must leave the old file or the new one,
 * never half of one: a state file that cannot be read is a running process the
 * next agent does not know about. So: write a temp file beside it, fsync it,
 * rename it over the old one, fsync the directory (the rename itself must reach
 * the disk). State files hold specs and environments, which may carry secrets:
 * mode 0600 (the temp file too, from its first byte), in a 0700 directory.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync, fchmodSync } from "node:fs";
import { chmod, mkdir, open, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";

/** Owner-only: what every file holding a spec or an environment gets. */
export const PRIVATE_FILE = 0o600;
export const PRIVATE_DIR = 0o700;

export interface AtomicWriteOptions {
  /** @default 0o600 */
  mode?: number;
  /** For the directory when it has to be made. @default 0o700 */
  dirMode?: number;
  /**
   * fsync the file and its directory, so the write survives a power loss. false: still
   * atomic for every process on the machine (the rename), only not yet on the disk.
   * @default true
   */
  durable?: boolean;
}

let seq = 0;
/** Unique per writer, so two writes in flight never share a temp file. */
const tmpName = (file: string): string => `${file}.tmp-${process.pid}-${++seq}`;

/**
 * Synchronous, for callers that must not yield between an act and its record
 * (the supervisor writes right after spawn).
 */
export function writeFileAtomicSync(file: string, data: string, o: AtomicWriteOptions = {}): void {
  const mode = o.mode ?? PRIVATE_FILE;
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: o.dirMode ?? PRIVATE_DIR });
  const tmp = tmpName(file);
  try {
    const fd = openSync(tmp, "w", mode);
    try {
      // open's mode is filtered by the umask: say it again, exactly.
      fchmodSync(fd, mode);
      const buf = Buffer.from(data, "utf8");
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
      if (o.durable !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  if (o.durable !== false) syncDirSync(dir);
}

export async function writeFileAtomic(file: string, data: string, o: AtomicWriteOptions = {}): Promise<void> {
  const mode = o.mode ?? PRIVATE_FILE;
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: o.dirMode ?? PRIVATE_DIR });
  const tmp = tmpName(file);
  try {
    const fh = await open(tmp, "w", mode);
    try {
      await fh.chmod(mode);
      await fh.writeFile(data, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

/**
 * Makes a directory private and every state file in it (not below) 0600:
 * for files written before this rule, by an older agent. Temp files a crashed
 * writer left are removed; they were never the record.
 */
export async function privatizeDir(dir: string): Promise<void> {
  // Only what exists: writers make their folders private when they first need them,
  // and a host that never installed anything keeps no install folder at all.
  try {
    await chmod(dir, PRIVATE_DIR);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(dir, e.name);
    if (/\.tmp(-\d+)*$/.test(e.name)) await rm(p, { force: true });
    else {
      try {
        await chmod(p, PRIVATE_FILE);
      } catch (err) {
        // Gone since the listing (a fence lease its watchdog removed as the agent started):
        // nothing left to make private. Throwing here made the agent exit at start.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
  }
}

function syncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename stands regardless.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // As above: best effort on filesystems that refuse it.
  }
}
