/**
 * The service's environment. It does not inherit the agent's: the agent's
 * variables (its data dir, NODE_OPTIONS, a debugging flag, credentials) are not
 * the service's business, and a service that worked only because of one would
 * break on the next host. What it does get is the minimum a Unix program
 * expects (PATH, HOME, LANG), then the spec's env, then BERTH_* — later wins.
 */

import { parseTemplate } from "../../shared/spec/template.js";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * @param agentEnv the agent's own environment, for PATH and LANG only
 * @param given    the spec's env merged with BERTH_* by the caller
 * @param home     the run user's home; the agent's HOME when running as itself
 */
export function serviceEnv(agentEnv: NodeJS.ProcessEnv, given: Record<string, string>, home: string | undefined): Record<string, string> {
  return {
    PATH: agentEnv.PATH || DEFAULT_PATH,
    HOME: home ?? (agentEnv.HOME || "/"),
    LANG: agentEnv.LANG || "C.UTF-8",
    ...given,
  };
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
