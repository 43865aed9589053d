/** `berth token create`: join tokens for agents, bearer tokens for operators. */
import type { Command } from "commander";
import { FLAG_LIMITS, parseDurationFlag } from "../duration-flag.js";
import { isRole } from "../../controller/auth/tokens.js";
import { call } from "../client.js";
import { CliError, EXIT } from "../errors.js";
import { parseFormat, printData } from "../output.js";
import { withApi, type GlobalOpts } from "./common.js";

export function registerToken(program: Command, global: () => GlobalOpts): void {
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
    .action(async (o: { role: string; ttl?: string; uses?: string; description?: string; output: string }) => {
      const format = parseFormat(o.output);
      if (!isRole(o.role)) throw new CliError(`--role ${o.role}: expected agent, viewer, operator, admin or lb`, EXIT.usage);
      const ttlSeconds = o.ttl === undefined ? 0 : Math.ceil(parseDurationFlag("--ttl", o.ttl, { positive: true, max: FLAG_LIMITS.longest }) / 1000);
      const uses = o.uses === undefined ? 0 : Number(o.uses);
      if (!Number.isInteger(uses) || uses < 0 || uses > 1_000_000) throw new CliError(`--uses ${o.uses}: expected a whole number ≥ 1`, EXIT.usage);
      if (uses && o.role !== "agent") throw new CliError("--uses applies to agent tokens only", EXIT.usage);
      await withApi(global(), async (api) => {
        const res = await call(api, api.client.CreateToken, { role: o.role, ttl_seconds: ttlSeconds, uses, description: o.description ?? "" });
        const expires = Number(res.expires_at_ms) ? new Date(Number(res.expires_at_ms)).toISOString() : null;
        if (printData(format, { ...res, expires_at: expires })) return;
        console.log(res.token);
        const limits = [expires && `expires ${expires}`, res.uses && `${res.uses} uses`].filter(Boolean).join(", ");
        if (res.role === "agent") {
          console.error(`\njoin token ${res.id}${limits ? ` (${limits})` : ""}. On a new server:`);
          console.error(`  berth agent install --controller ${api.cfg.addr} --token ${res.token}`);
        } else {
          console.error(`\n${res.role} token ${res.id}${limits ? ` (${limits})` : ""}: shown once, keep it safe (BERTH_TOKEN=…)`);
        }
      });
    });
}
