/**
 * One process per folder, through a pid file: FILE says which process holds the folder
 * (and what else the holder wants a second comer told). A second process reads it and
 * stops at once, naming the first, instead of running beside it on the same state.
 *
 * A file left by a process that died without cleaning up (SIGKILL, power cut) names a
 * process that is gone, or one that is not what `isHolder` expects (its pid reused): it
 * is replaced, so a crash never needs a manual `rm`. O_EXCL settles a race between two
 * starts at the same moment: one creates the file, the other reads it.
 */
import { readFileSync } from "node:fs";
import { readFile, unlink, writeFile } from "node:fs/promises";

export interface PidHolder {
  pid: number;
}

/** Whether `pid` is alive and its command line has `word` among its arguments (`dev`, `agent`). */
export function isLiveProcessOf(pid: number, word: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(word);
  } catch {
    return true; // no /proc: trust that it is alive
  }
}

/**
 * Claims `path` for `me`, or returns the live holder (parsed by `parse`, undefined when the
 * file is not one of ours) without claiming. The release removes the file only while it is ours.
 */
export async function claimPidFile<T extends PidHolder>(
  path: string,
  me: T,
  o: { parse: (text: string) => T | undefined; isHolder: (pid: number) => boolean },
): Promise<{ ok: true; release: () => Promise<void> } | { ok: false; holder: T }> {
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, JSON.stringify(me) + "\n", { flag: "wx", mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw e;
    }
    const other = o.parse(await readFile(path, "utf8").catch(() => ""));
    if (other && other.pid !== me.pid && o.isHolder(other.pid)) return { ok: false, holder: other };
    await unlink(path).catch(() => undefined);
  }
  return {
    ok: true,
    release: async () => {
      const now = o.parse(await readFile(path, "utf8").catch(() => ""));
      if (now?.pid === me.pid) await unlink(path).catch(() => undefined);
    },
  };
}
