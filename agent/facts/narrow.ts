// Narrowing helpers for data whose shape we do not control. systeminformation's
// typings promise more than it delivers across platforms (fields missing, NaN from
// parseInt of an empty column, nulls), so the mappers take `unknown` and accept a
// value only when it is really there.

export type Rec = Readonly<Record<string, unknown>>;

export function isRecord(v: unknown): v is Rec {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The records in `v`, or [] when `v` is not a list. */
export function records(v: unknown): Rec[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

/** A trimmed, non-empty string; anything else is "unknown". */
export function text(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const t = v.trim();
  return t === "" ? undefined : t;
}

/** A finite number > 0 (sizes, totals, counts: 0 means "the host did not say"). */
export function positive(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** A finite number >= 0 (used bytes: 0 is a real value). */
export function nonNegative(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** A whole count > 0 (cores). */
export function count(v: unknown): number | undefined {
  const n = positive(v);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

export function bool(v: unknown): boolean | undefined {
  return typeof v === "boolean" ? v : undefined;
}

/**
 * Drops keys whose value is undefined, so a missing fact is absent rather than
 * present-and-undefined (keeps fixtures, logs and strict equality simple).
 */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
