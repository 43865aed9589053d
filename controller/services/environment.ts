/**
 * Which environment an apply is for (DESIGN.md "Environments"). A controller may declare
 * the one it serves (`berth controller --environment prod`); specs rendered for another
 * (`berth apply -f fleet/ --env staging`) are refused, a safety catch like a kubectl
 * context: the wrong terminal, or the wrong BERTH_ADDR, cannot put staging's overrides
 * on prod. Plain specs (no --env) carry no environment and are not refused: they were
 * never rendered for one; they are stored under the controller's own.
 */
import { SERVICE_NAME } from "../../shared/spec/schema.js";

export type EnvironmentCheck = { environment: string; refused?: undefined; invalid?: undefined } | { refused: string; environment?: undefined; invalid?: undefined } | { invalid: string; environment?: undefined; refused?: undefined };

/** `serves`: the controller's declared environment ("" any); `requested`: what the CLI rendered for ("" none). */
export function checkEnvironment(serves: string, requested: string): EnvironmentCheck {
  if (requested && !SERVICE_NAME.test(requested)) {
    return { invalid: `environment ${JSON.stringify(requested.slice(0, 64))}: must be lowercase letters, digits and '-', 1-63 characters` };
  }
  if (serves && requested && requested !== serves) {
    return {
      refused: `this controller serves environment "${serves}"; these specs were rendered for "${requested}": nothing was changed (render for ${serves} with --env ${serves}, or point --addr at ${requested}'s controller)`,
    };
  }
  return { environment: requested || serves };
}
