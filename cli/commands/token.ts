/** `berth token create|list|revoke`: descriptors; cli/run/token.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

export function registerToken(program: Command): void {
  const token = program.command("token").description("manage tokens");
  token
    .command("create")
    .description("make a token: agent (join) tokens expire and count uses; viewer < operator < admin")
    .requiredOption("--role <role>", "agent, viewer, operator, admin or lb (follows endpoints and reports, for `berth lb`)")
    .option("--ttl <duration>", "lifetime, e.g. 30m, 24h (agent default 1h; others never expire)")
    .option("--uses <n>", "agent tokens: how many hosts may join with it (default: unlimited within the ttl)")
    .option("--description <text>", "what it is for")
    .option("-o, --output <format>", "table (the token alone), json or yaml", "table")
    .addHelpText("after", "\nExamples:\n  berth token create --role agent --ttl 1h --uses 10\n  berth token create --role viewer --description grafana")
    .action(lazy(() => import("../run/token.js"), (m) => m.tokenCreate));

  token
    .command("list")
    .description("every token: id, role, description, created, expires, last used, revoked (never a secret)")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .option("--all", "also the revoked and expired ones")
    .addHelpText("after", "\nExamples:\n  berth token list\n  berth token list --all -o json")
    .action(lazy(() => import("../run/token.js"), (m) => m.tokenList));
  token
    .command("revoke")
    .argument("<id>", "the token's id (berth token list shows it; a token's id is also its second part: bt1.<id>.…)")
    .description("refuse the token from its next call on, and end the streams (events -f, logs -f, watches) and exec sessions opened with it")
    .addHelpText("after", "\nExample:\n  berth token revoke 3fa94c0b12")
    .action(lazy(() => import("../run/token.js"), (m) => m.tokenRevoke));
}
