/**
 * "Never leave children behind." The service runs as the leader of its own
 * session and process group (spawn detached), so a signal to -pgid reaches it
 * and every descendant that stayed in the group. Some do not stay: a daemonizing
 * child moves to a group (still the same session) or, with a second setsid(),
 * to a session of its own — only a cgroup still holds that one. So the members
 * of a run are: live processes whose pgid or sid is the leader's pid, plus the
 * live pids of its cgroup when it has one. Stopping means the stop signal to
 * all of them, a grace period, then SIGKILL until none is left.
 *
 * With a cgroup (every run the host lets the agent make one for: supervisor.ts),
 * the cgroup is the record of who belongs, as systemd's and the kubelet's are: a
 * stop reads its cgroup.procs and asks kill(-pgid, 0) whether the group still has
 * anyone, and scans /proc only while it has (a zombie is still a member to kill(2)).
 * What the leader forks before its move into the cgroup is moved after it (joinCgroup);
 * only such a child whose parent died before the move, and that left the process group,
 * would go unseen. Without a cgroup every look is a scan.
 */
import { monoMs } from "../../shared/clock.js";
import { setTimeout as sleep } from "node:timers/promises";
import { cgroupPids, type CgroupHandle } from "./cgroup.js";
import { isLive, listGroupMembers, readProcStat, signalQuietly, type ProcStat } from "./proc.js";
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

/** kill(-pgid) with a pgid of 0 or 1 means "the caller's group" or "every process". */
function assertSafePgid(pgid: number): void {
  if (!(pgid > 1)) throw new UnsafeProcessGroupError(pgid);
}

/**
 * What emptying a group reads from /proc and sends; tests count the scans.
 * members() is the costly one: a read of every process's stat file (~1.2 ms per
 * hundred processes on a quiet host, tens of ms on a loaded one, with the agent's
 * loop blocked meanwhile).
 */
export interface GroupProbe {
  /** Live pids of the group, its session and its cgroup: a scan of /proc. */
  members(ref: GroupRef): number[];
  /** Live pids of the cgroup alone: one read of its cgroup.procs, no scan. */
  cgroupMembers(cgroup: CgroupHandle): number[];
  /** Whether process group `pgid` has any process, a zombie included: kill(-pgid, 0). */
  groupExists(pgid: number): boolean;
  /** One process's /proc/<pid>/stat. */
  stat(pid: number): ProcStat | undefined;
  /** kill(2); false when there is no such process or it may not be signalled. */
  signal(pid: number, signal: NodeJS.Signals): boolean;
}

export const PROC_PROBE: GroupProbe = {
  members: (ref) => groupMembers(ref),
  cgroupMembers: (cgroup) => liveCgroupPids(cgroup),
  groupExists: (pgid) => groupExists(pgid),
  stat: (pid) => readProcStat(pid),
  signal: (pid, signal) => signalQuietly(pid, signal),
};

/** The cgroup's pids that are alive (not zombies). */
function liveCgroupPids(cgroup: CgroupHandle): number[] {
  return cgroupPids(cgroup).filter((pid) => isLive(readProcStat(pid)));
}

/** kill(-pgid, 0): ESRCH means no process is in the group; anything else (EPERM) that someone is. */
function groupExists(pgid: number): boolean {
  assertSafePgid(pgid);
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Live pids of the group, its session and its cgroup. */
export function groupMembers(ref: GroupRef): number[] {
  const pids = new Set(ref.pgid === null ? [] : listGroupMembers(ref.pgid).map((p) => p.pid));
  if (ref.cgroup) {
    for (const pid of liveCgroupPids(ref.cgroup)) pids.add(pid);
  }
  return [...pids].sort((a, b) => a - b);
}

/**
 * One kill(-pgid) for the group, and a kill(pid) for each member outside it —
 * not for members inside it, which would get the signal twice (a second SIGTERM
 * means "hurry up, force it" to some programs). With a cgroup, the members outside
 * the group are found in the cgroup (no scan: see the top of this file).
 */
export function signalGroup(ref: GroupRef, signal: NodeJS.Signals, probe: GroupProbe = PROC_PROBE): void {
  if (ref.pgid !== null) {
    assertSafePgid(ref.pgid);
    probe.signal(-ref.pgid, signal);
  }
  signalOutside(ref.pgid, ref.cgroup ? probe.cgroupMembers(ref.cgroup) : probe.members(ref), signal, probe);
}

/** `signal` to each of `pids` outside process group `pgid` (every one, when pgid is null); how many got it. */
function signalOutside(pgid: number | null, pids: number[], signal: NodeJS.Signals, probe: GroupProbe): number {
  let sent = 0;
  for (const pid of pids) {
    if (pgid !== null) {
      // Gone since it was listed (no stat): nobody to signal, and the pid may name someone else soon.
      const st = probe.stat(pid);
      if (!st || st.pgid === pgid) continue;
    }
    probe.signal(pid, signal);
    sent++;
  }
  return sent;
}

/**
 * No member is left. With a cgroup: none in it, and none in the process group
 * (kill(-pgid, 0)); a scan only while the group still has someone, who may be a
 * zombie. Without one: a scan.
 */
export function groupEmpty(ref: GroupRef, probe: GroupProbe = PROC_PROBE): boolean {
  if (!ref.cgroup) return probe.members(ref).length === 0;
  if (probe.cgroupMembers(ref.cgroup).length > 0) return false;
  return ref.pgid === null || !probe.groupExists(ref.pgid) || probe.members(ref).length === 0;
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
 * Without a cgroup, how long a stop waits for the leader's exit before it scans /proc for
 * members outside the process group: they get the stop signal this much later at most,
 * and their grace (stopTimeout) counts from it.
 */
export const STRAGGLER_SCAN_MS = 25;

export interface EmptyGroupOptions {
  /**
   * The leader's exit event, where it is our child: wakes the wait at once. A rollout
   * stops one process per step, and a poll alone would notice each exit up to POLL_MS late.
   */
  exited?: Promise<unknown>;
  /**
   * The leader's start time (/proc stat field 22) as recorded at spawn. While the
   * leader runs with it, its pid cannot name anyone else's group: the signal goes at
   * once, before any scan of /proc.
   */
  leaderStartTime?: number;
  /** @default PROC_PROBE */
  probe?: GroupProbe;
}

/**
 * Ends every member: `signal`, up to graceMs for them to go, then SIGKILL
 * (repeated while waiting, for members forked in the meantime).
 * Returns at once when there is no member.
 *
 * Scans of /proc are the cost (GroupProbe), so a stop of a known leader (our child)
 * takes one without a cgroup, once its exit event is in (or STRAGGLER_SCAN_MS passed):
 * it finds the members that left the group, to signal them, and whether anyone is
 * left; with a cgroup it takes none (groupEmpty).
 * Without a known leader a scan must come first: an empty group's id may since name
 * someone else's.
 */
export async function emptyGroup(ref: GroupRef, signal: NodeJS.Signals, graceMs: number, o: EmptyGroupOptions = {}): Promise<EmptyGroupResult> {
  const probe = o.probe ?? PROC_PROBE;
  const known = leaderRuns(ref, o.leaderStartTime, probe);
  if (!known && probe.members(ref).length === 0) return { forced: false, survivors: [] };
  const empty = (): boolean => groupEmpty(ref, probe);
  if (known && ref.pgid !== null && ref.cgroup === null && o.exited) {
    // No cgroup: finding the members that left the group takes a scan, and a scan right
    // after kill(-pgid) would find the leader still there and need a second one after
    // its exit. One scan serves both once the exit event is in (or STRAGGLER_SCAN_MS
    // passed): it signals those outside the group, and finds none left in the common case.
    assertSafePgid(ref.pgid);
    probe.signal(-ref.pgid, signal);
    let signalledAt = monoMs();
    // Settles when the exit event is in; a rejection counts as one (as in pollUntil).
    let exitIn = false;
    const exit = o.exited.then(
      () => void (exitIn = true),
      () => void (exitIn = true),
    );
    await pollUntil(() => exitIn, Math.min(STRAGGLER_SCAN_MS, graceMs), { wake: exit, lookFirst: false });
    const left = probe.members(ref);
    if (left.length === 0) return { forced: false, survivors: [] };
    // Those signalled now get the whole grace from their own signal, not from the group's.
    if (signalOutside(ref.pgid, left, signal, probe) > 0) signalledAt = monoMs();
    // The next look: on the exit event if it is still to come, else after a poll (the ones
    // just signalled need a moment; looking at once would only scan again and find them).
    if (await pollUntil(empty, graceMs - (monoMs() - signalledAt), exitIn ? { lookFirst: false } : { wake: exit, lookFirst: false })) return { forced: false, survivors: [] };
  } else {
    signalGroup(ref, signal, probe);
    // Just signalled: with an exit event to wake on, the first look waits for it (or the poll).
    if (await pollUntil(empty, graceMs, o.exited ? { wake: o.exited, lookFirst: false } : {})) return { forced: false, survivors: [] };
  }
  const gone = await pollUntil(() => {
    signalGroup(ref, "SIGKILL", probe);
    return empty();
  }, KILL_WAIT_MS);
  return { forced: true, survivors: gone ? [] : probe.members(ref) };
}

/** The group's leader still runs, and is the process recorded (same start time, so not a reused pid). */
function leaderRuns(ref: GroupRef, startTime: number | undefined, probe: GroupProbe): boolean {
  if (ref.pgid === null || startTime === undefined) return false;
  const st = probe.stat(ref.pgid);
  return isLive(st) && st.startTime === startTime;
}

/**
 * Checks `cond` every pollMs (default POLL_MS) until it holds (true) or timeoutMs
 * pass (false); and once more the moment `wake` settles, whatever the poll.
 * lookFirst false: the first look waits for the wake or the first poll.
 */
export async function pollUntil(cond: () => boolean, timeoutMs: number, o: { wake?: Promise<unknown>; pollMs?: number; lookFirst?: boolean } = {}): Promise<boolean> {
  // Monotonic: a wall clock stepped back must not stretch a stop's grace (and a self-fence) past its timeout.
  const deadline = monoMs() + timeoutMs;
  const pollMs = o.pollMs ?? POLL_MS;
  // Settles once; after that the poll alone goes on (members the leader left behind).
  let wake = o.wake?.then(
    () => "wake" as const,
    () => "wake" as const,
  );
  for (let first = true; ; first = false) {
    const skip = first && o.lookFirst === false;
    if (!skip && cond()) return true;
    const left = deadline - monoMs();
    // No time to wait at all: one look all the same.
    if (left <= 0) return skip ? cond() : false;
    const ac = new AbortController();
    const nap = sleep(clampDelayMs(Math.min(pollMs, left)), "poll" as const, { signal: ac.signal }).catch(() => "poll" as const);
    const why = await (wake ? Promise.race([nap, wake]) : nap);
    ac.abort(); // the nap's timer goes with it
    if (why === "wake") wake = undefined;
  }
}
