/**
 * The service's environment. It does not inherit the agent's: the agent's
 * variables (its data dir, NODE_OPTIONS, a debugging flag, credentials) are not
 * the service's business, and a service that worked only because of one would
 * break on the next host. What it does get is the minimum a Unix program
 * expects (PATH, HOME, LANG), then the spec's env, then BERTH_* — later wins.
 */

import { existsSync, realpathSync, statSync, type Stats } from "node:fs";
import path from "node:path";
import { parseTemplate } from "../../shared/spec/template.js";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * @param agentEnv the agent's own environment, for PATH and LANG only
 * @param given    the spec's env merged with BERTH_* by the caller
 * @param home     the run user's home; the agent's HOME when running as itself
 * @param ids      the run user, whose PATH keeps only the folders it may search (see searchablePath)
 */
export function serviceEnv(agentEnv: NodeJS.ProcessEnv, given: Record<string, string>, home: string | undefined, ids?: { uid: number; gid: number }): Record<string, string> {
  return {
    // The agent's PATH, cut to the folders the run user may search (given.PATH, the spec's own, wins).
    PATH: given.PATH === undefined ? searchablePath(agentEnv.PATH || DEFAULT_PATH, ids) : given.PATH,
    HOME: home ?? (agentEnv.HOME || "/"),
    LANG: agentEnv.LANG || "C.UTF-8",
    ...given,
  };
}

/**
 * The folders of `pathVar` that a service running as `ids` may search: the folder and
 * every one above it let that user through (owner, primary group or others, by their
 * x bits). The agent's PATH can name folders only root may enter (/root/.cargo/bin under
 * `npm start` as root); a program looked up there fails with EACCES rather than "not
 * found", which says nothing useful. Without ids (the agent's own user): all of it.
 */
export function searchablePath(
  pathVar: string,
  ids: { uid: number; gid: number } | undefined,
  stat: (p: string) => Stats = statSync,
  realpath: (p: string) => string = realpathSync,
): string {
  if (!ids || ids.uid === 0) return pathVar;
  const memo = new Map<string, boolean>();
  const enters = (dir: string): boolean => {
    const known = memo.get(dir);
    if (known !== undefined) return known;
    let ok: boolean;
    try {
      const st = stat(dir);
      const bit = st.uid === ids.uid ? 0o100 : st.gid === ids.gid ? 0o010 : 0o001;
      ok = st.isDirectory() && (st.mode & bit) !== 0;
    } catch {
      ok = false;
    }
    const parent = path.dirname(dir);
    if (ok && parent !== dir) ok = enters(parent);
    memo.set(dir, ok);
    return ok;
  };
  // Through symlinks: a PATH folder that links into /root (nvm, asdf) is only as open as where it leads.
  const real = (d: string): string => {
    try {
      return realpath(d);
    } catch {
      return path.resolve(d);
    }
  };
  const kept = pathVar.split(":").filter((d) => d !== "" && path.isAbsolute(d) && enters(real(d)) && enters(path.resolve(d)));
  return kept.length > 0 ? kept.join(":") : DEFAULT_PATH;
}

/** What a failed spawn means, in words: the command, and where it was looked for. */
export function spawnFailure(command: string, err: NodeJS.ErrnoException, pathVar: string, user: string, cwd = "/", exists: (p: string) => boolean = existsSync): string {
  const as = user ? ` as ${user}` : "";
  if (err.code === "ENOENT" && command.includes("/")) {
    // The file is there: what exec could not find is the interpreter its #! line names.
    return exists(path.resolve(cwd, command)) ? `command ${command}: the interpreter its first line (#!) names was not found (a CRLF line end, or a program this host lacks)` : `command ${command} not found (no such file)`;
  }
  if (err.code === "ENOENT") return `command ${JSON.stringify(command)} not found in PATH (${pathVar})`;
  if (err.code === "EACCES") return `command ${JSON.stringify(command)} cannot be run${as}: permission denied (not executable, or a folder on its way is closed to that user)`;
  return err.message;
}

/**
 * `${NAME}` in `s` replaced from `vars`, `$$` as `$` (shared/spec/template.ts has the
 * rules). Apply refuses what does not parse or names nothing known; a spec stored before
 * those checks may still hold such text, and it reaches the process as written.
 */
export function expandRefs(s: string, vars: Readonly<Record<string, string>>): string {
  const parsed = parseTemplate(s);
  if (!parsed.parts) return s;
  return parsed.parts.map((p) => ("ref" in p ? (Object.hasOwn(vars, p.ref) ? vars[p.ref]! : `\${${p.ref}}`) : p.text)).join("");
}

/**
 * The instance's environment as its process gets it: the spec's run.env, each value
 * expanded from the BERTH_* variables (not from one another), then BERTH_* over them.
 */
export function instanceEnv(specEnv: Readonly<Record<string, string>>, berth: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(specEnv)) out[k] = expandRefs(v, berth);
  return { ...out, ...berth };
}

/** run.args expanded from the instance's environment (instanceEnv's result). */
export function expandArgs(args: readonly string[], env: Readonly<Record<string, string>>): string[] {
  return args.map((a) => expandRefs(a, env));
}
