/** What `berth token create|list|revoke` do (descriptors: cli/commands/token.ts). */
import type { Command } from "commander";
import { onlyThisMachine } from "../../shared/addr.js";
import { FLAG_LIMITS, parseDurationFlag } from "../duration-flag.js";
import { isRole } from "../../controller/auth/tokens.js";
import { call } from "../client.js";
import { CliError, EXIT } from "../errors.js";
import { colour, parseFormat, printData, table, type Cell } from "../output.js";
import { formatDurationMs } from "../../shared/duration.js";
import { parseToken } from "../../shared/token-format.js";
import type { TokenInfo__Output } from "../../shared/gen/berth/v1/TokenInfo.js";
import { globalsOf, withApi } from "./common.js";
import { parseCountFlag } from "../count-flag.js";

export async function tokenCreate(o: { role: string; ttl?: string; uses?: string; description?: string; output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  if (!isRole(o.role)) throw new CliError(`--role ${o.role}: expected agent, viewer, operator, admin or lb`, EXIT.usage);
  const ttlSeconds = o.ttl === undefined ? 0 : Math.ceil(parseDurationFlag("--ttl", o.ttl, { positive: true, max: FLAG_LIMITS.longest }) / 1000);
  // Absent: as many uses as its lifetime allows. Given: at least one (0 would mean "unlimited" on the wire).
  const uses = o.uses === undefined ? 0 : parseCountFlag("--uses", o.uses, 1, 1_000_000);
  if (uses && o.role !== "agent") throw new CliError("--uses applies to agent tokens only", EXIT.usage);
  await withApi(g, async (api) => {
    const res = await call(api, api.client.CreateToken, { role: o.role, ttl_seconds: ttlSeconds, uses, description: o.description ?? "" });
    const expires = Number(res.expires_at_ms) ? new Date(Number(res.expires_at_ms)).toISOString() : null;
    if (printData(format, { ...res, expires_at: expires })) return;
    console.log(res.token);
    const limits = [expires && `expires ${expires}`, res.uses && `${res.uses} uses`].filter(Boolean).join(", ");
    if (res.role === "agent") {
      console.error(`\njoin token ${res.id}${limits ? ` (${limits})` : ""}. Copy it to a new server in a file (mode 0600), then:`);
      console.error(`  sudo berth agent install --controller ${api.cfg.addr} --token-file ./join.token`);
      // The CLI's own address may be loopback (berth dev, a tunnel): another server cannot reach that.
      if (api.cfg.addr.split(",").some((a) => onlyThisMachine(a))) console.error(`(${api.cfg.addr} is how this machine reaches the controller: on another server give an address of the controller it can reach)`);
    } else {
      console.error(`\n${res.role} token ${res.id}${limits ? ` (${limits})` : ""}: shown once, keep it safe (BERTH_TOKEN=…)`);
    }
  });
}

export async function tokenList(o: { output: string; all?: boolean }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  await withApi(g, async (api) => {
    const res = await call(api, api.client.ListTokens, {});
    const nowMs = Date.now();
    const shown = o.all ? res.tokens : res.tokens.filter((t) => !Number(t.revoked_at_ms) && !expired(t, nowMs));
    if (printData(format, { tokens: shown.map(tokenJson), unusable: res.unusable })) return;
    const when = (ms: number): string => (ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, "Z") : "-");
    const rows: Cell[][] = shown.map((t) => [
      t.id,
      t.role,
      state(t, nowMs),
      t.description || "-",
      when(Number(t.created_at_ms)),
      Number(t.expires_at_ms) ? when(Number(t.expires_at_ms)) : "never",
      Number(t.last_used_at_ms) ? `${formatDurationMs(Math.max(0, nowMs - Number(t.last_used_at_ms)))} ago` : "never",
      t.role === "agent" ? (Number(t.uses_left) < 0 ? "unlimited" : String(t.uses_left)) : "-",
    ]);
    console.log(table(["ID", "ROLE", "STATE", "DESCRIPTION", "CREATED", "EXPIRES", "LAST USED", "USES LEFT"], rows));
    const hidden = res.tokens.length - shown.length;
    if (hidden) console.error(`\n${hidden} revoked or expired token${hidden === 1 ? "" : "s"} not shown (--all shows them)`);
    for (const u of res.unusable) console.error(`unusable stored token record ${u}`);
  });
}

export async function tokenRevoke(id: string, _o: unknown, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  // The whole token works too (whoever holds a leaked one can name it), but is never echoed.
  let tokenId = id.trim();
  if (/^b[tj]1\./.test(tokenId)) {
    try {
      tokenId = parseToken(tokenId).id;
    } catch {
      throw new CliError("that is not a whole token: give the token's id (10 hex digits, as `berth token list` shows)", EXIT.usage, "berth token list");
    }
  }
  if (!/^[0-9a-f]{10}$/.test(tokenId)) throw new CliError(`${tokenId.slice(0, 40)}: not a token id (10 hex digits, as \`berth token list\` shows)`, EXIT.usage, "berth token list");
  await withApi(g, async (api) => {
    const t = await call(api, api.client.RevokeToken, { id: tokenId });
    // Revoking is idempotent (a script may run it twice), but the answer says which call did it.
    if (t.was_revoked) {
      console.log(`${t.role} token ${t.id}${t.description ? ` (${t.description})` : ""} was revoked already, at ${new Date(Number(t.revoked_at_ms)).toISOString()}${t.revoked_by ? ` by token ${t.revoked_by}` : ""}: nothing changed`);
      return;
    }
    console.log(`${t.role} token ${t.id} revoked${t.description ? ` (${t.description})` : ""}: refused from its next call; its open streams and exec sessions end`);
  });
}

function expired(t: TokenInfo__Output, nowMs: number): boolean {
  return Number(t.expires_at_ms) > 0 && nowMs >= Number(t.expires_at_ms);
}

function state(t: TokenInfo__Output, nowMs: number): Cell {
  if (Number(t.revoked_at_ms)) return colour("red", "revoked");
  if (expired(t, nowMs)) return colour("yellow", "expired");
  if (t.role === "agent" && Number(t.uses_left) === 0) return colour("yellow", "used up");
  return colour("green", "valid");
}

/** The JSON form: the wire message with times made readable alongside. */
function tokenJson(t: TokenInfo__Output): Record<string, unknown> {
  const iso = (ms: number): string | null => (ms ? new Date(ms).toISOString() : null);
  return {
    ...t,
    created_at: iso(Number(t.created_at_ms)),
    expires_at: iso(Number(t.expires_at_ms)),
    last_used_at: iso(Number(t.last_used_at_ms)),
    revoked_at: iso(Number(t.revoked_at_ms)),
  };
}
