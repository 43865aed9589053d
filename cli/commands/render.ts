/** `berth render`: descriptor; cli/run/render.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

export function registerRender(program: Command): void {
  program
    .command("render")
    .description("print the specs a fleet folder makes for one environment (what plan and apply --env send); reads files only")
    .requiredOption("-f, --file <path>", "a fleet folder (services/*.yaml and envs/<env>.yaml), or plain spec files", (v: string, prev: string[] = []) => [...prev, v])
    .option("--env <name>", "the environment: envs/<name>.yaml's overrides are merged into each service")
    .option("-o, --output <format>", "yaml or json", "yaml")
    .addHelpText(
      "after",
      "\nAn environment may set instances, env, secrets, secretFiles, constraints, spread, resources and update\n" +
        "for each service; mappings merge key by key, null removes a key, a scalar or a list replaces the\n" +
        "service's value whole. It can never change the artifact, run or health: one build, every environment.\n" +
        "\nExamples:\n  berth render -f fleet/ --env prod\n  berth render -f fleet/ --env staging -o json\n  diff <(berth render -f fleet/ --env staging) <(berth render -f fleet/ --env prod)\n" +
        "\nExit codes: 0 rendered, 2 invalid files (every problem with file:line).",
    )
    .action(lazy(() => import("../run/render.js"), (m) => m.render));
}
