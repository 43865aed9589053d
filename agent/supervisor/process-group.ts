/**
 * "Never leave children behind." The service runs as the leader of its own
 * session and process group (spawn detached), so a signal to -pgid reaches it
 * and every descendant that stayed in the group. Some do not stay: a daemonizing
 * child moves to a group (still the same session) or, with a second setsid(),
 * to a session of its own — only a cgroup still holds that one. So the members
 * of a run are: live processes whose pgid or sid is the leader's pid, plus the
 * live pids of its cgroup when it has one. Stopping means the stop signal to
 * all of them, a grace period, then SIGKILL until none is left.
 */
import { monoMs } from "../../shared/clock.js";
import { setTimeout as sleep } from "node:timers/promises";
import { cgroupPids, type CgroupHandle } from "./cgroup.js";
import { isLive, listGroupMembers, readProcStat, signalQuietly } from "./proc.js";
import { clampDelayMs } from "../../shared/timer.js";

export interface GroupRef {
  /**
   * The leader's pid, which is also the process group id and the session id;
   * null to reach the cgroup's members only.
   */
  pgid: number | null;
  cgroup: CgroupHandle | null;
}

/** A pgid of 0 or 1 here would turn kill(-pgid) into "the caller's group" or "every process": a bug, never a request. */
export class UnsafeProcessGroupError extends Error {
  constructor(readonly pgid: number) {
    super(`refusing to signal process group ${pgid}`);
    this.name = "UnsafeProcessGroupError";
  }
}

/** Live pids of the group, its session and its cgroup. */
export function groupMembers(ref: GroupRef): number[] {
  const pids = new Set(ref.pgid === null ? [] : listGroupMembers(ref.pgid).map((p) => p.pid));
  if (ref.cgroup) {
    for (const pid of cgroupPids(ref.cgroup)) if (isLive(readProcStat(pid))) pids.add(pid);
  }
  return [...pids].sort((a, b) => a - b);
}

/**
 * One kill(-pgid) for the group, and a kill(pid) for each member outside it —
 * not for members inside it, which would get the signal twice (a second SIGTERM
 * means "hurry up, force it" to some programs).
 */
export function signalGroup(ref: GroupRef, signal: NodeJS.Signals): void {
  if (ref.pgid !== null) {
    if (!(ref.pgid > 1)) throw new UnsafeProcessGroupError(ref.pgid);
    signalQuietly(-ref.pgid, signal);
  }
  for (const pid of groupMembers(ref)) {
    if (ref.pgid === null || readProcStat(pid)?.pgid !== ref.pgid) signalQuietly(pid, signal);
  }
}

export interface EmptyGroupResult {
  /** SIGKILL was needed. */
  forced: boolean;
  /** Pids still alive after SIGKILL and its wait (stuck in uninterruptible sleep, most likely). */
  survivors: number[];
}

/** How long SIGKILL gets before the survivors are reported: the kernel needs a moment, not a grace period. */
export const KILL_WAIT_MS = 5_000;
const POLL_MS = 25;

/**
 * Ends every member: `signal`, up to graceMs for them to go, then SIGKILL
 * (repeated while waiting, for members forked in the meantime).
 * Returns at once when there is no member. `exited` (the leader's exit event,
 * where it is our child) wakes the wait: a rollout stops one process per step,
 * and a poll alone would notice each exit up to POLL_MS late.
 */
export async function emptyGroup(ref: GroupRef, signal: NodeJS.Signals, graceMs: number, exited?: Promise<unknown>): Promise<EmptyGroupResult> {
  if (groupMembers(ref).length === 0) return { forced: false, survivors: [] };
  signalGroup(ref, signal);
  if (await pollUntil(() => groupMembers(ref).length === 0, graceMs, exited ? { wake: exited } : {})) return { forced: false, survivors: [] };
  const gone = await pollUntil(() => {
    signalGroup(ref, "SIGKILL");
    return groupMembers(ref).length === 0;
  }, KILL_WAIT_MS);
  return { forced: true, survivors: gone ? [] : groupMembers(ref) };
}

/**
 * Checks `cond` every pollMs (default POLL_MS) until it holds (true) or timeoutMs
 * pass (false); and once more the moment `wake` settles, whatever the poll.
 */
export async function pollUntil(cond: () => boolean, timeoutMs: number, o: { wake?: Promise<unknown>; pollMs?: number } = {}): Promise<boolean> {
  // Monotonic: a wall clock stepped back must not stretch a stop's grace (and a self-fence) past its timeout.
  const deadline = monoMs() + timeoutMs;
  const pollMs = o.pollMs ?? POLL_MS;
  // Settles once; after that the poll alone goes on (members the leader left behind).
  let wake = o.wake?.then(
    () => "wake" as const,
    () => "wake" as const,
  );
  for (;;) {
    if (cond()) return true;
    const left = deadline - monoMs();
    if (left <= 0) return false;
    const ac = new AbortController();
    const nap = sleep(clampDelayMs(Math.min(pollMs, left)), "poll" as const, { signal: ac.signal }).catch(() => "poll" as const);
    const why = await (wake ? Promise.race([nap, wake]) : nap);
    ac.abort(); // the nap's timer goes with it
    if (why === "wake") wake = undefined;
  }
}
