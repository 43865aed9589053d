/**
 * What the supervisor learns from /proc and /etc/passwd. The parsers are pure
 * (tested with fixtures); the readers around them are thin and synchronous,
 * because they run between spawn() and the next tick, where an await would let
 * the service fork children we have not yet accounted for.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z (zombie: dead, not yet reaped), T … */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Field 22: clock ticks after boot. With the pid it names one process for the uptime of the machine. */
  startTime: number;
}

/**
 * Parses /proc/<pid>/stat. comm (field 2) is in parentheses and may itself hold
 * spaces and parentheses, so the fields are counted from the *last* ")".
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After ")": field 3 (state) is index 0, so field n is index n − 3.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const state = rest[0];
  const nums = [rest[1], rest[2], rest[3], rest[19]].map((s) => Number(s));
  const [ppid, pgid, sid, startTime] = nums;
  if (
    !Number.isInteger(pid) ||
    state === undefined ||
    ppid === undefined ||
    pgid === undefined ||
    sid === undefined ||
    startTime === undefined ||
    nums.some((n) => !Number.isFinite(n))
  ) {
    return undefined;
  }
  return { pid, comm: text.slice(open + 1, close), state, ppid, pgid, sid, startTime };
}

/** /proc/<pid>/stat, or undefined when there is no such process (or it vanished mid-read). */
export function readProcStat(pid: number, procRoot = "/proc"): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Alive means: exists and is not a zombie. A zombie has exited; only its parent's wait() is missing. */
export function isLive(stat: ProcStat | undefined): stat is ProcStat {
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

/**
 * Every live process that belongs to the process group or session `leader`
 * started. The service runs as a session and group leader (spawn detached:
 * setsid), so its descendants keep its pgid, and even those that moved to a
 * group of their own keep its sid; only a second setsid() escapes both (the
 * cgroup, when there is one, catches those). The kernel never hands out a pid
 * while it still names a group or session, so a match is always ours.
 */
export function listGroupMembers(leader: number, procRoot = "/proc"): ProcStat[] {
  const out: ProcStat[] = [];
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const st = readProcStat(Number(name), procRoot);
    if (isLive(st) && (st.pgid === leader || st.sid === leader)) out.push(st);
  }
  return out;
}

/**
 * The children of `pid`, from each of its threads' /proc/<pid>/task/<tid>/children
 * (the kernel's own list, no scan); [] when it is gone.
 */
export function listChildren(pid: number, procRoot = "/proc"): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`${procRoot}/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${pid}/task/${tid}/children`, "utf8");
    } catch {
      continue;
    }
    out.push(...parsePids(text));
  }
  return out;
}

/** The pids in a kernel list (cgroup.procs, a task's children): whitespace-separated, anything else skipped. */
export function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((w) => w !== "")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/**
 * Sends `signal`; false when there is no such process (it won the race and
 * exited) or we may not signal it (the caller sees it survive and reports it).
 */
export function signalQuietly(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ESRCH" || code === "EPERM") return false;
    throw e;
  }
}

export interface UserIds {
  uid: number;
  gid: number;
  home: string;
}

/** A run.user that names nobody on this host: the install or the spec is wrong, and retrying will not help. */
export class UnknownUserError extends Error {
  constructor(
    readonly user: string,
    options?: { cause?: unknown },
  ) {
    super(`user ${JSON.stringify(user)} does not exist on this host`, options);
    this.name = "UnknownUserError";
  }
}

/** Looks `user` (a name or a numeric uid) up in passwd(5) text. */
export function parsePasswd(text: string, user: string): UserIds | undefined {
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7) continue;
    const [name, , uid, gid, , home] = f;
    if (name === user || uid === user) {
      const ids = { uid: Number(uid), gid: Number(gid), home: home ?? "/" };
      if (Number.isInteger(ids.uid) && Number.isInteger(ids.gid)) return ids;
    }
  }
  return undefined;
}

/**
 * uid, gid and home of `user`. /etc/passwd first (no process, and it gives the
 * home); then `id`, which also asks NSS (LDAP, sssd) about users passwd lacks.
 */
export function resolveUser(user: string, passwdPath = "/etc/passwd"): UserIds {
  try {
    const found = parsePasswd(readFileSync(passwdPath, "utf8"), user);
    if (found) return found;
  } catch {
    // Unreadable passwd: fall through to id(1).
  }
  try {
    const opts = { encoding: "utf8" as const, stdio: ["ignore", "pipe", "ignore"] as ["ignore", "pipe", "ignore"] };
    const uid = Number(execFileSync("id", ["-u", user], opts).trim());
    const gid = Number(execFileSync("id", ["-g", user], opts).trim());
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid, home: "/" };
  } catch (cause) {
    throw new UnknownUserError(user, { cause });
  }
  throw new UnknownUserError(user);
}
