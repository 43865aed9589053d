/** `berth restart`, `berth rollout status|promote|pause|resume|undo`: descriptors; cli/run/rollout.ts does the work. */
import { Option, type Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/rollout.js");

/** restart -w and rollout status -w: the same bound on the watch. */
const WATCH_TIMEOUT = ["--timeout <duration>", "with -w: stop following after this long, exit 7 (the rollout goes on)"] as const;

export function registerRollout(program: Command): void {
  program
    .command("restart")
    .argument("<name>", "service name")
    .option("-w, --watch", "follow the rollout until it ends (exit code as rollout status)")
    .option(...WATCH_TIMEOUT)
    // apply and drain say --wait: the same here, unlisted.
    .addOption(new Option("--wait", "the same as --watch").hideHelp())
    .description("restart every instance of a service, as a health-checked rollout (a new revision, same spec)")
    .addHelpText("after", "\nExamples:\n  berth restart web\n  berth restart web -w")
    .action(lazy(run, (m) => m.restart));

  const rollout = program.command("rollout").description("follow and steer rollouts: status, promote, pause, resume, undo");

  rollout
    .command("status")
    .argument("<name>", "service name")
    .option("-w, --watch", "follow until the rollout ends: a live progress bar on a terminal, one line per change when piped")
    .option(...WATCH_TIMEOUT)
    .option("-o, --output <format>", "table, json or yaml (with -w, json prints one view per line)", "table")
    .description("where the rollout stands; exit code 0 when it succeeded, 1 when it failed or was reverted, 7 while it has not ended, 8 when its canary awaits `berth rollout promote` (-w stops there too)")
    .addHelpText("after", "\nExamples:\n  berth rollout status web\n  berth apply -f web.yaml && berth rollout status web -w   # gate a pipeline on it")
    .action(lazy(run, (m) => m.rolloutStatus));

  const control = (action: "promote" | "pause" | "resume" | "undo", what: string, example: string): void => {
    rollout
      .command(action)
      .argument("<name>", "service name")
      .option("-o, --output <format>", "table, json or yaml", "table")
      .description(what)
      .addHelpText("after", `\nExample:\n  ${example}`)
      .action(lazy(run, (m) => m[action]));
  };
  control("promote", "let a canary rollout go on past its canary instances", "berth rollout promote web");
  control("pause", "start nothing new in the rollout (a drained instance still gets its replacement)", "berth rollout pause web");
  control("resume", "go on with a paused rollout; its deadlines start again", "berth rollout resume web");
  control("undo", "roll back to the previous revision (itself a rollout)", "berth rollout undo web && berth rollout status web -w");
}
