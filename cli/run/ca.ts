/** What `berth ca status|rotate|bundle` do (descriptors: cli/commands/ca.ts). */
import type { Command } from "commander";
import type { CaStatus__Output } from "../../shared/gen/berth/v1/CaStatus.js";
import type { CaCertInfo__Output } from "../../shared/gen/berth/v1/CaCertInfo.js";
import { formatDurationMs } from "../../shared/duration.js";
import { call } from "../client.js";
import { storeTrustedCa } from "../config.js";
import { parseDurationFlag } from "../duration-flag.js";
import { colour, parseFormat, printData, table, txt, type Cell } from "../output.js";
import { globalsOf, withApi } from "./common.js";

/** The controller's own limit (controller/member/api/ca-handlers.ts MAX_ROTATION_SPREAD_MS). */
const MAX_SPREAD = "24h";

const when = (ms: number): string => (ms ? new Date(ms).toISOString() : "-");
const fp = (c: CaCertInfo__Output | null): Cell => (c ? txt`sha256:${c.fingerprint.slice(0, 16)}…` : "-");

function printStatus(s: CaStatus__Output, nowMs: number): void {
  const row = (what: string, c: CaCertInfo__Output | null): Cell[] => [what, fp(c), c ? txt`${c.subject.replace(/\n/g, ", ")}` : "-", c ? when(Number(c.not_after_ms)) : "-"];
  const rows = [row(s.phase === "rotating" ? "current (retiring)" : "current", s.current)];
  if (s.next) rows.push(row("new", s.next));
  if (s.retired) rows.push(row(`retired ${when(Number(s.retired_at_ms))}`, s.retired));
  console.log(txt`phase: ${s.phase === "rotating" ? colour("yellow", "rotating") : colour("green", "idle")}`.text);
  console.log("");
  console.log(table(["CA", "FINGERPRINT", "SUBJECT", "EXPIRES"], rows));
  if (s.phase !== "rotating") return;
  const total = s.hosts_on_old.length + s.hosts_on_new.length;
  const started = Number(s.started_at_ms);
  console.log("");
  console.log(`started ${when(started)} (${formatDurationMs(Math.max(0, nowMs - started))} ago) by token ${s.started_by}; hosts renew within ${formatDurationMs(Number(s.spread_ms))}`);
  console.log(`hosts on the new CA: ${s.hosts_on_new.length}/${total}`);
  if (s.hosts_on_old.length) console.log(`still on the old CA (or not yet confirmed on the new one): ${s.hosts_on_old.join(", ")}`);
  console.log("the old CA is retired once every host has stored a certificate of the new one (a host that is down renews when it is back)");
}

export async function caStatus(o: { output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  await withApi(globalsOf(cmd), async (api) => {
    const s = await call(api, api.client.GetCaStatus, {});
    if (printData(format, s)) return;
    printStatus(s, Date.now());
  });
}

export async function caRotate(o: { spread: string; output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  const spreadMs = parseDurationFlag("--spread", o.spread, { positive: true, max: MAX_SPREAD });
  await withApi(globalsOf(cmd), async (api) => {
    const s = await call(api, api.client.RotateCa, { spread_ms: spreadMs });
    // This operator keeps working when the controller switches to the new CA's certificate.
    const stored = await storeTrustedCa(s.bundle_pem);
    if (printData(format, { ...s, trust_stored_in: stored ?? null })) return;
    printStatus(s, Date.now());
    console.error("");
    console.error(stored ? `this CLI now trusts both CAs (${stored})` : "this CLI's CA came from neither BERTH_CA nor the config file: store `berth ca bundle` where it reads its CA");
    console.error("other operators: `berth ca bundle > ca.crt` (BERTH_CA=ca.crt) before the rotation completes; join tokens made before it completes stop working then");
  });
}

export async function caBundle(o: { write?: boolean }, cmd: Command): Promise<void> {
  await withApi(globalsOf(cmd), async (api) => {
    const s = await call(api, api.client.GetCaStatus, {});
    process.stdout.write(s.bundle_pem.trimEnd() + "\n");
    if (o.write) {
      const stored = await storeTrustedCa(s.bundle_pem);
      console.error(stored ? `stored in ${stored}` : "not stored: this CLI's CA came from neither BERTH_CA nor the config file");
    }
  });
}
