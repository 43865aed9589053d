/**
 * Whole-number flags (--uses, -n, --tail, --hosts, ports): digits only, within
 * bounds. `Number()` alone took "" as 0, " 3" as 3 and "0x10" as 16 — an empty
 * `--uses "$N"` made a join token anyone could use for ever.
 */
import { CliError, EXIT, shownInput } from "./errors.js";

export function parseCountFlag(flag: string, value: string, min: number, max: number, or = ""): number {
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new CliError(`${flag} ${shownInput(value)}: expected a whole number from ${min} to ${max}${or}`, EXIT.usage);
  return n;
}
