/** Output for read commands: aligned tables for people, JSON or YAML for scripts. */
import { stringify } from "yaml";
import { CliError, EXIT } from "./errors.js";

export const FORMATS = ["table", "json", "yaml"] as const;
export type Format = (typeof FORMATS)[number];

export function parseFormat(s: string): Format {
  if ((FORMATS as readonly string[]).includes(s)) return s as Format;
  throw new CliError(`-o ${s}: expected one of ${FORMATS.join(", ")}`, EXIT.usage);
}

/**
 * A cell as it may reach a terminal: control characters shown as \xNN, so text a
 * host or a client sent (a hostname, a command line, an error) cannot move the
 * cursor, erase lines or fake rows. Colour (SGR) sequences, which we add, pass.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m|[\u0000-\u001f\u007f-\u009f]/g, (m) => (m.length > 1 ? m : `\\x${m.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

export function table(headers: string[], rows: string[][]): string {
  rows = rows.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** Prints structured data as JSON or YAML; returns false for "table" so the caller draws one. */
export function printData(format: Format, data: unknown): boolean {
  if (format === "json") process.stdout.write(JSON.stringify(data, null, 2) + "\n");
  else if (format === "yaml") process.stdout.write(stringify(data));
  else return false;
  return true;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
export function bytes(n: number): string {
  if (!n) return "-";
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)}${UNITS[i]}`;
}

/** Colour only on a terminal, and never with NO_COLOR (no-color.org). */
export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

const CODES = { red: 31, green: 32, yellow: 33, grey: 90 } as const;
export function colour(c: keyof typeof CODES, s: string): string {
  return useColour() ? `\u001b[${CODES[c]}m${s}\u001b[0m` : s;
}

export function statusColour(status: string): string {
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
