/** `berth plan`, `berth apply`: descriptors; cli/run/apply.ts does the work. */
import { Option, type Command } from "commander";
import { lazy } from "./lazy.js";

/** `berth plan --exit-code`: the plan has changes. */
export const EXIT_PLAN_CHANGES = 6;

export function registerApply(program: Command): void {
  for (const verb of ["plan", "apply"] as const) {
    const cmd = program
      .command(verb)
      .description(verb === "plan" ? "show what applying the spec files would change; changes nothing" : "apply spec files: all of them or none")
      .requiredOption("-f, --file <path>", "a spec file, a folder of them (*.yaml, *.yml), or a fleet folder (services/ and envs/); repeat it for several", (v: string, prev: string[] = []) => [...prev, v])
      .option("--env <name>", "render a fleet folder for this environment (envs/<name>.yaml); a controller serving another refuses it")
      .option("--prune", "also delete services that no file names (the folder is the whole fleet)")
      .option("-o, --output <format>", "table, json or yaml", "table")
      .addHelpText(
        "after",
        `\nExamples:\n  berth ${verb} -f services/\n  berth ${verb} -f services/web.yaml -f services/api.yaml\n  berth ${verb} -f fleet/ --env prod   # fleet/services/*.yaml with fleet/envs/prod.yaml's overrides (berth render shows them)${
          verb === "apply"
            ? "\n  berth apply -f services/ --wait --timeout 5m\n  berth apply -f services/ --check-index 51   # 51: the state index `berth plan` printed; refused if these services changed since"
            : "\n\nThe plan names the state index it was made from (a counter of the controller's stored state,\nnot a service's revision): `berth apply --check-index N` applies it only if nothing it read changed since.\n\nExit codes: 0 planned (with --exit-code: no changes), " + EXIT_PLAN_CHANGES + " changes pending (--exit-code), 2 invalid specs."
        }`,
      )
      .action(lazy(() => import("../run/apply.js"), (m) => m[verb]));
    if (verb === "plan") cmd.option("--exit-code", `exit ${EXIT_PLAN_CHANGES} when there are changes (0 when none)`);
    else {
      cmd.option("--wait", "follow the services applied until every instance is healthy at the new revision and the rollout has succeeded (exit 1 if not within --timeout, if the rollout failed or was reverted, or once all that is left is copies no host can take; 8 when a canary awaits `berth rollout promote`)");
      cmd.option("--timeout <duration>", "with --wait: stop waiting after this long (the rollout goes on)", "10m");
      cmd.option("--check-index <n>", "apply only if none of the services the files name (with --prune: none at all) changed since state index n, the one `berth plan` printed; else refuse and change nothing");
      // The flag's first name, kept for scripts written against it.
      cmd.addOption(new Option("--check-revision <n>", "the former name of --check-index").hideHelp());
    }
  }
}
