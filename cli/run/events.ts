/** What `berth audit` and `berth events [-f]` do: the audit and event logs, and following them (descriptors: cli/commands/events.ts). */
import type { Command } from "commander";
import type { Event__Output } from "../../shared/gen/berth/v1/Event.js";
import { watchStream } from "../watch.js";
import { sanitize, sanitizeLines } from "../../shared/text/sanitize.js";
import { call } from "../client.js";
import { parseFormat, printData, printStreamData, table, colour, render, Styled, txt } from "../output.js";
import { FLAG_LIMITS, parseDurationFlag } from "../duration-flag.js";
import { parseCountFlag } from "../count-flag.js";
import { globalsOf, withApi } from "./common.js";
import { execAuditCells } from "../exec-audit.js";
import { refusalAuditCells } from "../refusal-audit.js";

/** A message on one line (a crash loop's carries its last output lines): " | " between them, not a raw \x0a. */
const oneLine = (m: string): string => m.trim().replace(/\s*\r?\n\s*/g, " | ");

/** An event's time as both `events` and `events -f` print it: UTC, to the second. */
const eventTime = (ms: number | string): string => new Date(Number(ms)).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");

/** One event as `events -f` prints it: every field from the record sanitized, our colour around the type. */
export function line(e: Event__Output): Styled {
  const t = eventTime(e.time_ms);
  const who = [e.host && txt`host=${e.host}`, e.service && txt`service=${e.service}`].filter((x): x is Styled => x instanceof Styled);
  const type = e.type.endsWith(".down") || e.type.endsWith(".failed") ? colour("red", e.type) : render(e.type);
  return new Styled([t, render(type), who.join(" "), render(oneLine(e.message))].filter(Boolean).join("  "));
}

export async function audit(o: { since: string; limit: string; output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  const sinceMs = Date.now() - parseDurationFlag("--since", o.since, { max: FLAG_LIMITS.longest });
  const limit = parseCountFlag("-n", o.limit, 1, 100_000);
  await withApi(g, async (api) => {
    const res = await call(api, api.client.ListAudit, { since_ms: Math.max(0, sinceMs), limit });
    const rows = res.entries.map((e) => ({ ...e, time: new Date(Number(e.time_ms)).toISOString(), outcome: e.code === 0 ? "ok" : e.error }));
    if (printData(format, rows)) return;
    const cells = (r: (typeof rows)[number]): string[] => {
      const x = execAuditCells(r) ?? refusalAuditCells(r);
      // One long refusal must not push REQUEST off the screen: the table cuts, -o json has it whole.
      const outcome = oneLine(x?.outcome ?? r.outcome);
      return [r.time, r.token_id || "-", r.role || "-", r.method, outcome.length > 60 ? `${outcome.slice(0, 59)}…` : outcome, (x?.request ?? r.request).slice(0, 80)];
    };
    console.log(table(["TIME", "TOKEN", "ROLE", "METHOD", "OUTCOME", "REQUEST"], rows.map(cells)));
  });
}

export async function events(o: { follow?: boolean; limit: string; host?: string; service?: string; output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  const limit = parseCountFlag("-n", o.limit, 1, 10_000);
  await withApi(g, async (api) => {
    const res = await call(api, api.client.ListEvents, { limit, host: o.host ?? "", service: o.service ?? "" });
    let last = 0;
    // Followed by its whole id from here on: a reconnect follows the host it began with, not
    // whichever host the prefix names by then (or none, once it is removed).
    const host = (o.host && res.events[0]?.host) || (o.host ?? "");
    if (format === "table") {
      if (o.follow) for (const e of res.events) console.log(line(e));
      else console.log(table(["TIME", "TYPE", "HOST", "SERVICE", "MESSAGE"], res.events.map((e) => [eventTime(e.time_ms), e.type, e.host || "-", e.service || "-", oneLine(e.message)])));
    } else if (o.follow) {
      for (const e of res.events) printStreamData(format, e);
    } else if (format === "json") {
      console.log(JSON.stringify(res.events, null, 2));
    } else {
      const { stringify } = await import("yaml");
      process.stdout.write(stringify(res.events));
    }
    // A deleted service keeps its events, so a name with none is not an error — but may be a typo.
    if (!res.events.length && o.service && !o.host && !o.follow) process.stderr.write(`no events of service ${sanitize(o.service)}: \`berth services\` lists the services\n`);
    for (const e of res.events) last = Math.max(last, e.seq);
    if (!o.follow) return;
    await watchStream(api, {
      follow: true,
      // Opened again after a lost member: from the last event seen, so none is shown twice or missed.
      open: (client, md) => client.WatchEvents({ after_seq: last, host, service: o.service ?? "" }, md),
      onData: (e: Event__Output) => {
        last = Math.max(last, e.seq);
        if (!printStreamData(format, e)) console.log(line(e));
      },
      onLost: (why) => process.stderr.write(`berth: lost the controller (${sanitizeLines(why)}); following again…\n`),
    });
  });
}
