/**
 * The exec sessions' leaders, on disk: an agent that dies without ending its
 * sessions (kill -9, OOM) ends what they left when it starts again. A pty
 * session mostly ends by itself then (the closed pty hangs up its terminal), but
 * a piped `sleep 1000` would not.
 *
 * Each entry is a pid and its start time (/proc stat field 22), so a pid the
 * kernel has since given to another process is left alone: if the leader still
 * runs it must be the same process; if it is gone, whatever still carries its
 * pid as process group or session id is ours (Linux does not reuse a pid while a
 * group or session still has it).
 */
import { readFileSync, rmSync } from "node:fs";
import { writeFileAtomicSync } from "../../shared/state-file.js";
import type { Logger } from "../../shared/log/logger.js";
import { readProcStat, isLive } from "../supervisor/proc.js";
import { reapSession } from "./reap.js";

interface Entry {
  pid: number;
  startTime: number;
}

export class ExecLedger {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly file: string) {}

  /** A session leader started. Small and synchronous: it runs once per session. */
  add(pid: number): void {
    const st = readProcStat(pid);
    if (!st) return; // already gone: nothing to remember
    this.entries.set(pid, { pid, startTime: st.startTime });
    this.save();
  }

  /** A session and everything it started are gone. */
  remove(pid: number): void {
    if (this.entries.delete(pid)) this.save();
  }

  private save(): void {
    if (this.entries.size === 0) {
      rmSync(this.file, { force: true });
      return;
    }
    writeFileAtomicSync(this.file, JSON.stringify([...this.entries.values()]));
  }

  /**
   * Ends the sessions a previous agent left (see above), then forgets them.
   * Resolves with the leaders it reaped.
   */
  static async reapLeftovers(file: string, graceMs: number, log?: Logger): Promise<number[]> {
    let list: unknown;
    try {
      list = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      return [];
    }
    const entries = Array.isArray(list) ? list.filter((e): e is Entry => Number.isInteger((e as Entry)?.pid) && Number.isInteger((e as Entry)?.startTime)) : [];
    const ours = entries.filter((e) => {
      const st = readProcStat(e.pid);
      return !isLive(st) || st.startTime === e.startTime;
    });
    const reaped = await Promise.all(ours.map(async (e) => ((await reapSession(e.pid, graceMs, log)).found > 0 ? e.pid : 0)));
    rmSync(file, { force: true });
    const done = reaped.filter((p) => p > 0);
    if (done.length) log?.warn({ sessions: done }, "ended exec sessions a previous agent left running");
    return done;
  }
}
