/** `berth token create`: descriptor; cli/run/token.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

export function registerToken(program: Command): void {
  const token = program.command("token").description("manage tokens");
  token
    .command("create")
    .description("make a token: agent (join) tokens expire and count uses; viewer < operator < admin")
    .requiredOption("--role <role>", "agent, viewer, operator or admin")
    .option("--ttl <duration>", "lifetime, e.g. 30m, 24h (agent default 1h; others never expire)")
    .option("--uses <n>", "agent tokens: how many hosts may join with it (default: unlimited within the ttl)")
    .option("--description <text>", "what it is for")
    .option("-o, --output <format>", "table (the token alone), json or yaml", "table")
    .addHelpText("after", "\nExamples:\n  berth token create --role agent --ttl 1h --uses 10\n  berth token create --role viewer --description grafana")
    .action(lazy(() => import("../run/token.js"), (m) => m.tokenCreate));
}
