/**
 * Environment names on the command line (`berth controller --environment`, `berth dev
 * --environment`, `berth render|plan|apply --env`): named as a fleet's envs/<name>.yaml
 * files are, by shared/spec/schema.ts SERVICE_NAME's rule, checked here without loading zod.
 */
import { CliError, EXIT } from "./errors.js";

const ENVIRONMENT_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The flag's value, or "" when absent (any environment / none). */
export function environmentFlag(v: string | undefined, flag = "--environment"): string {
  if (v === undefined) return "";
  if (!ENVIRONMENT_NAME.test(v)) throw new CliError(`${flag} ${JSON.stringify(v.slice(0, 64))}: expected a name of lowercase letters, digits and '-', such as prod`, EXIT.usage);
  return v;
}
