/**
 * Who a service runs as on this host (issue 13; the rules are shared/spec/run-as.ts):
 * the spec's run.user, or `berth-<service>`, a system user created here on first
 * use — no login shell, a group of its own:
 *
 *   useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin berth-web
 *
 * Its HOME is a folder of its own under the agent's data dir, `<data>/homes/<user>`
 * (0700, its own), made here: tools that keep a cache or a config in $HOME (npm,
 * pip, git) work, and it is kept across instances and revisions as a home is. It
 * is set in the environment only, for the process, its install steps, its exec
 * checks and `berth exec --service` alike (they all take RunAs.ids.home); passwd
 * keeps /nonexistent, since two agents on one machine (dev mode) share the user
 * but not a data dir. A named run.user keeps the home passwd gives it.
 *
 * The agent's last word: whatever the controller sent, a privileged user (uid 0,
 * group 0, a member of sudo, docker, …) runs only as `root` on a host whose
 * agent.yaml says `allowRoot: true`; anything else is refused with a reason that
 * `berth status` shows.
 *
 * An agent that is not root cannot switch users: its services run as itself,
 * which is then as unprivileged as the agent is.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, chown, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { clampDelayMs } from "../../shared/timer.js";
import { defaultServiceUser, privilegeOf, runAsRefusal } from "../../shared/spec/run-as.js";
import { resolveUser, UnknownUserError, type UserIds } from "../supervisor/proc.js";

const run = promisify(execFile);

/** Who the process runs as: the name, and the ids to switch to (absent: the agent's own user). */
export interface RunAs {
  user: string;
  ids?: UserIds;
}

/** The agent will not run this spec as the user it names (or cannot create its default user). */
export class RunAsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RunAsError";
  }
}

/** Names of every group `user` (primary gid `gid`) is in, from group(5) text. */
export function parseGroups(text: string, user: string, gid: number): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4) continue;
    const [name, , id, members] = f;
    if (!name) continue;
    if (Number(id) === gid || (members ?? "").split(",").includes(user)) out.push(name);
  }
  return out;
}

/** The groups of `user`: /etc/group, then `id -Gn` (NSS: LDAP, sssd) when it says nothing. */
async function groupsOf(user: string, gid: number, groupPath: string): Promise<string[]> {
  let found: string[] = [];
  try {
    found = parseGroups(readFileSync(groupPath, "utf8"), user, gid);
  } catch {
    // Unreadable: ask id(1).
  }
  if (found.length) return found;
  try {
    const { stdout } = await run("id", ["-Gn", user], { encoding: "utf8" });
    return stdout.trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

export interface ServiceUserOptions {
  /** agent.yaml's allowRoot. */
  allowRoot: boolean;
  /** Is the agent root (can it switch users)? @default process.getuid() === 0 */
  isRoot?: boolean;
  passwdPath?: string;
  groupPath?: string;
  /** Creates a system user; tests swap it. @default useradd */
  createUser?: (name: string) => Promise<void>;
  /** Where the default users' homes are made (`<data>/homes`). Absent: passwd's (/nonexistent). */
  homesDir?: string;
}

/**
 * Creates `name` as a system user. Several agents on one machine (dev mode, tests)
 * may race to create the same one: "already exists" is success, and a passwd file
 * locked by another useradd is tried again for a few seconds.
 */
export async function useradd(name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name], { encoding: "utf8" });
      return;
    } catch (e) {
      const err = e as { code?: unknown; stderr?: string };
      // 9: the name is taken — by the same user another agent just made.
      if (err.code === 9) return;
      const locked = /lock/i.test(err.stderr ?? "");
      if (!locked || attempt >= 20) throw new RunAsError(`cannot create the service's user ${name}: ${(err.stderr ?? String(e)).trim()}`, { cause: e });
      await sleep(clampDelayMs(100 * Math.min(attempt, 5)));
    }
  }
}

/** Finds (and for the default user, first creates) who `spec` runs as, or throws RunAsError saying why not. */
export async function serviceUser(spec: { name: string; run: { user: string } }, o: ServiceUserOptions): Promise<RunAs> {
  const isRoot = o.isRoot ?? process.getuid?.() === 0;
  const requested = spec.run.user;
  if (!isRoot) {
    // No user can be switched to; the agent's own user is what runs, whatever it is.
    if (!requested) return { user: "" };
    if (requested === "root") throw new RunAsError(runAsRefusal({ requested, privileged: "uid 0", allowRoot: false })!);
    return { user: requested, ids: lookup(requested, o.passwdPath) };
  }
  const user = requested || defaultServiceUser(spec.name);
  let ids: UserIds;
  try {
    ids = resolveUser(user, o.passwdPath);
  } catch (e) {
    if (!(e instanceof UnknownUserError) || requested) throw new RunAsError(e instanceof Error ? e.message : String(e), { cause: e });
    await (o.createUser ?? useradd)(user);
    ids = lookup(user, o.passwdPath);
  }
  const refused = runAsRefusal({ requested, privileged: privilegeOf({ name: user, uid: ids.uid, gid: ids.gid, groups: await groupsOf(user, ids.gid, o.groupPath ?? "/etc/group") }), allowRoot: o.allowRoot });
  if (refused) throw new RunAsError(refused);
  if (!requested && o.homesDir !== undefined) ids = { ...ids, home: await homeOf(o.homesDir, user, ids) };
  return { user, ids };
}

/** `<homesDir>/<user>`, made (or put right) 0700 and the user's; the folder above passable (0711), readable by none. */
async function homeOf(homesDir: string, user: string, ids: UserIds): Promise<string> {
  const home = join(homesDir, user);
  try {
    await mkdir(homesDir, { recursive: true, mode: 0o711 });
    await mkdir(home, { recursive: true, mode: 0o700 });
    await chown(home, ids.uid, ids.gid);
    await chmod(home, 0o700);
  } catch (e) {
    throw new RunAsError(`cannot make the home of ${user} at ${home}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return home;
}

function lookup(user: string, passwdPath: string | undefined): UserIds {
  try {
    return resolveUser(user, passwdPath);
  } catch (e) {
    throw new RunAsError(e instanceof Error ? e.message : String(e), { cause: e });
  }
}
