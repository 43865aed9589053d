/** What `berth token create` does (descriptor: cli/commands/token.ts). */
import type { Command } from "commander";
import { FLAG_LIMITS, parseDurationFlag } from "../duration-flag.js";
import { isRole } from "../../controller/auth/tokens.js";
import { call } from "../client.js";
import { CliError, EXIT } from "../errors.js";
import { parseFormat, printData } from "../output.js";
import { globalsOf, withApi } from "./common.js";

export async function tokenCreate(o: { role: string; ttl?: string; uses?: string; description?: string; output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  if (!isRole(o.role)) throw new CliError(`--role ${o.role}: expected agent, viewer, operator or admin`, EXIT.usage);
  const ttlSeconds = o.ttl === undefined ? 0 : Math.ceil(parseDurationFlag("--ttl", o.ttl, { positive: true, max: FLAG_LIMITS.longest }) / 1000);
  const uses = o.uses === undefined ? 0 : Number(o.uses);
  if (!Number.isInteger(uses) || uses < 0 || uses > 1_000_000) throw new CliError(`--uses ${o.uses}: expected a whole number ≥ 1`, EXIT.usage);
  if (uses && o.role !== "agent") throw new CliError("--uses applies to agent tokens only", EXIT.usage);
  await withApi(g, async (api) => {
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
}
