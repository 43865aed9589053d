/** `berth audit`, `berth events [-f]`: descriptors; cli/run/events.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/events.js");

export function registerEvents(program: Command): void {
  program
    .command("audit")
    .description("who asked for what: every mutating call and exec session, and its outcome, refusals included (admin); calls with no valid token are summed per address and minute")
    .option("--since <duration>", "only entries newer than this, e.g. 1h, 30m", "24h")
    .option("-n, --limit <n>", "at most this many of the newest", "1000")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExamples:\n  berth audit --since 1h\n  berth audit -o json | jq '.[] | select(.code != 0)'")
    .action(lazy(run, (m) => m.audit));

  program
    .command("events")
    .description("show the event log (host joined, down, back, cordoned …)")
    .option("-f, --follow", "keep following new events")
    .option("-n, --limit <n>", "how many of the newest events", "50")
    .option("--host <id>", "only events of this host: its id or a prefix of it (a removed host: its whole id)")
    .option("--service <name>", "only events of this service")
    .option("-o, --output <format>", "table, json or yaml (with -f, json prints one event per line)", "table")
    .addHelpText("after", "\nExamples:\n  berth events -n 20\n  berth events -f --host 3fa9c2e1b7d4")
    .action(lazy(run, (m) => m.events));
}
