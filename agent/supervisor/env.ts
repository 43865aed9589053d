/**
 * The service's environment. It does not inherit the agent's: the agent's
 * variables (its data dir, NODE_OPTIONS, a debugging flag, credentials) are not
 * the service's business, and a service that worked only because of one would
 * break on the next host. What it does get is the minimum a Unix program
 * expects (PATH, HOME, LANG), then the spec's env, then BERTH_* — later wins.
 */

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
