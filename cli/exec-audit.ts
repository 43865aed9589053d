/**
 * How `berth audit` shows exec sessions: "Exec" (started, or refused) and
 * "ExecEnd" entries carry their details as JSON in `request`; the table shows
 * them as host, command and, at the end, exit code and duration.
 */
import { formatDurationMs } from "../shared/duration.js";

interface ExecAuditRequest {
  session?: number;
  host?: string;
  service?: string;
  instance?: string;
  command?: unknown;
  tty?: boolean;
  exit_code?: number | null;
  signal?: string;
  duration_ms?: number;
}

const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** The OUTCOME and REQUEST cells of an exec entry; undefined for any other method. */
export function execAuditCells(e: { method: string; request: string; code: number; error: string }): { outcome: string; request: string } | undefined {
  if (e.method !== "Exec" && e.method !== "ExecEnd") return undefined;
  let r: ExecAuditRequest;
  try {
    r = JSON.parse(e.request) as ExecAuditRequest;
  } catch {
    return undefined; // cut short by the log's size bound: shown raw
  }
  const argv = Array.isArray(r.command) ? r.command.filter((a): a is string => typeof a === "string") : [];
  const where = [r.session !== undefined && `session=${r.session}`, r.host && `host=${r.host}`, r.instance && `instance=${r.instance}`, !r.instance && r.service && `service=${r.service}`]
    .filter(Boolean)
    .join(" ");
  const what = argv.length ? argv.map(quote).join(" ") : "(shell)";
  const request = `${where}${r.tty ? " tty" : ""}  ${what}`.trim();
  let outcome = e.code === 0 ? (e.method === "Exec" ? "started" : "ok") : e.error;
  if (e.method === "ExecEnd" && e.code === 0) {
    outcome = r.signal ? `exit ${r.exit_code ?? "?"} (${r.signal})` : `exit ${r.exit_code ?? "?"}`;
  }
  if (e.method === "ExecEnd" && typeof r.duration_ms === "number") outcome += ` after ${formatDurationMs(r.duration_ms)}`;
  return { outcome, request };
}
