/**
 * Can a service's user reach its working dir? Services run as their own user
 * (service-user.ts), but their folders live in the agent's data dir: when that
 * is below a folder the user may not pass (a checkout under /root, mode 0700),
 * the process fails with its own words ("Cannot find module", "No such file or
 * directory") that say nothing of why. The agent checks first and says which
 * folder blocks and what fixes it.
 *
 * The rule is the kernel's for a process started as uid:gid with no
 * supplementary groups (what libuv's spawn gives: it drops them): the owner's
 * bits if it owns the folder, else the group's if the folder's group is its gid,
 * else the others'. ACLs are not read; a folder an ACL opens is reported only
 * if its mode bits shut it as well.
 */
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** A folder's permission bits and owner. */
export interface DirMode {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

/** Who must get through: the ids a service's process runs with. */
export interface Reacher {
  uid: number;
  gid: number;
}

/** The folder a user cannot reach its working dir through (`user`, `dir`, `blocker` for logs). */
export class UnreachableDirError extends Error {
  constructor(
    readonly dir: string,
    readonly blocker: string,
    message: string,
  ) {
    super(message);
    this.name = "UnreachableDirError";
  }
}

/**
 * Pure: the first folder of `chain` (from / down to the working dir, last) that
 * `who` cannot pass — every one needs x, the last one r as well — with the chmod
 * that lets it ("o+x"); undefined when nothing blocks.
 */
export function blockedAt(chain: readonly DirMode[], who: Reacher): { dir: DirMode; need: string } | undefined {
  if (who.uid === 0) return undefined;
  for (const [i, d] of chain.entries()) {
    const last = i === chain.length - 1;
    const cls = d.uid === who.uid ? "u" : d.gid === who.gid ? "g" : "o";
    const shift = cls === "u" ? 6 : cls === "g" ? 3 : 0;
    const bits = (d.mode >> shift) & 0o7;
    const want = last ? 0o5 : 0o1;
    if ((bits & want) !== want) return { dir: d, need: `${cls}+${last ? "rx" : "x"}` };
  }
  return undefined;
}

/** Every folder from / down to `dir`, in that order. */
function ancestry(dir: string): string[] {
  const out: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    out.unshift(p);
    if (dirname(p) === p) return out;
  }
}

/**
 * Throws UnreachableDirError when `who` cannot reach `dir`, naming the folder
 * that blocks, its mode and owner, and the fix: the chmod, or a data dir
 * elsewhere.
 */
export async function checkReach(dir: string, who: Reacher & { user: string }): Promise<void> {
  if (who.uid === 0) return;
  const chain: DirMode[] = [];
  for (const p of ancestry(dir)) {
    const st = await stat(p);
    chain.push({ path: p, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  }
  const b = blockedAt(chain, who);
  if (!b) return;
  const mode = `0${(b.dir.mode & 0o777).toString(8).padStart(3, "0")}`;
  const what = b.dir.path === resolve(dir) ? "is not readable by it" : "does not let it through";
  throw new UnreachableDirError(
    dir,
    b.dir.path,
    `user ${who.user} (uid ${who.uid}) cannot reach its working dir ${dir}: ${b.dir.path} (mode ${mode}, owner ${ownerName(b.dir.uid)}) ${what}; run chmod ${b.need} ${b.dir.path} on this host, or give the agent a data dir outside it (--data-dir, or dataDir in agent.yaml)`,
  );
}

/** "root" for uid 0, else the number: the message names the owner without a passwd look-up that may fail. */
function ownerName(uid: number): string {
  return uid === 0 ? "root" : `uid ${uid}`;
}
