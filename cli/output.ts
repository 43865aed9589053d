/** Output for read commands: aligned tables for people, JSON or YAML for scripts. */
import { inspect } from "node:util";
import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import { CliError, EXIT } from "./errors.js";
import { formatBytes } from "../shared/text/bytes.js";
import { padVisible, sanitize, sanitizeTree, terminalSafeJson, visibleWidth } from "../shared/text/sanitize.js";

export const FORMATS = ["table", "json", "yaml"] as const;

/**
 * yaml is loaded the first time -o yaml asks for it, not by every command that
 * might print data (start-up is paid on every run; README, "Performance").
 */
function yamlStringify(data: unknown): string {
  const { stringify } = createRequire(import.meta.url)("yaml") as typeof Yaml;
  return stringify(data);
}

// What hosts and clients wrote may hold terminal controls: JSON keeps the data exact (as
// escapes), YAML for reading gets them escaped as the tables do (shared/text/sanitize.ts).
// Every data output goes through these two, a followed stream's items too.
const jsonText = (data: unknown, pretty: boolean): string => terminalSafeJson(JSON.stringify(data, null, pretty ? 2 : undefined));
export const yamlText = (data: unknown): string => yamlStringify(sanitizeTree(data));
export type Format = (typeof FORMATS)[number];

export function parseFormat(s: string): Format {
  if ((FORMATS as readonly string[]).includes(s)) return s as Format;
  throw new CliError(`-o ${s}: expected one of ${FORMATS.join(", ")}`, EXIT.usage);
}

/**
 * Text berth made itself and that may hold its colours: its parts from a host
 * or a record are already sanitized. Plain strings are untrusted; the only way
 * to get a Styled is colour() or txt``, so nothing from outside reaches the
 * terminal without passing shared/text/sanitize.ts, the one place that decides.
 */
export class Styled {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
  /** So console.log(styled) prints the text. */
  [inspect.custom](): string {
    return this.text;
  }
}

export type Cell = string | Styled;

/** A plain string sanitized (one line); a Styled as it is. */
export function render(c: Cell): string {
  return c instanceof Styled ? c.text : sanitize(c);
}

/**
 * A line for the terminal: the template's literal parts are berth's own, every
 * interpolated string is untrusted and sanitized, a Styled (colour()) passes.
 *
 *   console.log(txt`host ${h.id} (${h.facts.hostname}) is ${statusColour(h.status)}`)
 */
export function txt(parts: TemplateStringsArray, ...values: (Cell | number | bigint | boolean)[]): Styled {
  let out = parts[0] ?? "";
  values.forEach((v, i) => {
    out += (typeof v === "string" || v instanceof Styled ? render(v) : String(v)) + (parts[i + 1] ?? "");
  });
  return new Styled(out);
}

export function table(headers: string[], cells: Cell[][]): string {
  const rows = cells.map((r) => r.map(render));
  const widths = headers.map((h, i) => Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ""))));
  const line = (cs: string[]): string =>
    cs
      .map((c, i) => (i === cs.length - 1 ? c : padVisible(c, widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** Prints structured data as JSON or YAML; returns false for "table" so the caller draws one. */
/**
 * One item of a followed stream (`events -f`, `endpoints -w`, `rollout status -w`) as data:
 * JSON one object a line (JSON Lines), YAML one document each (`---` before it), so
 * either reads as a stream. False for a table.
 */
export function printStreamData(format: Format, data: unknown): boolean {
  if (format === "json") process.stdout.write(jsonText(data, false) + "\n");
  else if (format === "yaml") process.stdout.write(`---\n${yamlText(data)}`);
  else return false;
  return true;
}

export function printData(format: Format, data: unknown): boolean {
  if (format === "json") process.stdout.write(jsonText(data, true) + "\n");
  else if (format === "yaml") process.stdout.write(yamlText(data));
  else return false;
  return true;
}

/** A size for a table cell: "-" for 0 (not reported). */
export function bytes(n: number): string {
  return n ? formatBytes(n) : "-";
}

/** Colour only on a terminal, and never with NO_COLOR (no-color.org). */
export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

const CODES = { red: 31, green: 32, yellow: 33, grey: 90 } as const;
/** `s` (sanitized, or already Styled) in a colour, on a terminal that wants colour. */
export function colour(c: keyof typeof CODES, s: Cell): Styled {
  const t = render(s);
  return new Styled(useColour() ? `\u001b[${CODES[c]}m${t}\u001b[0m` : t);
}

export function statusColour(status: string): Cell {
  switch (status) {
    case "ready":
      return colour("green", status);
    case "down":
      return colour("red", status);
    case "cordoned":
    case "joining":
      return colour("yellow", status);
    default:
      return status;
  }
}
