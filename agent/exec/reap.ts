/**
 * Ending what an exec session left: the command leads its own session and
 * process group, so its members are the live processes whose pgid or sid is the
 * leader's pid (an interactive shell puts each job in a group of its own, but
 * they all stay in its session). Like ssh hanging up: SIGHUP (and SIGCONT, so a
 * stopped job can act on it), then SIGKILL after a grace period for whatever
 * ignored it.
 *
 * /proc is scanned a handful of times per session (before each signal, and to
 * confirm), never in a tight poll: many sessions ending at once (a lost
 * controller stream) must not starve the heartbeat or the supervised service.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../shared/log/logger.js";
import { groupMembers, signalGroup } from "../supervisor/process-group.js";
import { clampDelayMs } from "../../shared/timer.js";

/** After SIGKILL, how long until survivors are reported, and how often they are looked for meanwhile. */
const CONFIRM_MS = 2000;
const CONFIRM_STEP_MS = 200;

export interface ReapResult {
  /** Members that were alive when the session ended. */
  found: number;
  /** SIGKILL was needed. */
  forced: boolean;
  /** Still alive after SIGKILL (stuck in uninterruptible sleep, most likely). */
  survivors: number[];
}

export async function reapSession(leader: number, graceMs: number, log?: Logger): Promise<ReapResult> {
  // pid 0 or 1 would make kill(-pid) mean "my group" or "everyone": never.
  if (!(leader > 1)) return { found: 0, forced: false, survivors: [] };
  const ref = { pgid: leader, cgroup: null };
  const found = groupMembers(ref).length;
  if (found === 0) return { found, forced: false, survivors: [] };
  signalGroup(ref, "SIGHUP");
  signalGroup(ref, "SIGCONT");
  // Most commands end on SIGHUP at once: one early look, then one at the end of
  // the grace; a tight poll of /proc per session would cost more than it saves.
  const early = Math.min(CONFIRM_STEP_MS, graceMs);
  await sleep(clampDelayMs(early));
  if (groupMembers(ref).length === 0) return { found, forced: false, survivors: [] };
  if (graceMs > early) {
    await sleep(clampDelayMs(graceMs - early));
    if (groupMembers(ref).length === 0) return { found, forced: false, survivors: [] };
  }
  for (let waited = 0; ; waited += CONFIRM_STEP_MS) {
    const left = groupMembers(ref);
    if (left.length === 0) return { found, forced: true, survivors: [] };
    if (waited >= CONFIRM_MS) {
      log?.warn({ pids: left, session: leader }, "exec session processes survived SIGKILL");
      return { found, forced: true, survivors: left };
    }
    signalGroup(ref, "SIGKILL");
    await sleep(CONFIRM_STEP_MS);
  }
}
