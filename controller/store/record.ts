/**
 * Every record the controller stores goes through here: encodeRecord on the way
 * in, decodeRecord on the way out. A stored record is outside input like a spec
 * file — it may have been written by an older or newer controller, by a bug, or
 * by hand — so it is validated (zod, the record's schema beside its type) and a
 * bad one is *quarantined*: not used, reported with the key and what is wrong,
 * and never a crash.
 *
 * Versions: every put writes `schemaVersion`. A record without one is version 1,
 * today's shape. A record from a future version (a newer controller wrote it, then
 * this one was started on the same data) is quarantined rather than misread;
 * MIGRATIONS lifts older versions to the current one when a shape changes.
 */
import type { z } from "zod";
import { formatSpecPath } from "../../shared/spec/path.js";

/** The shape version every put writes. */
export const SCHEMA_VERSION = 1;

/**
 * version → how a record of that version becomes one of version+1. None yet:
 * when a record's shape changes, bump SCHEMA_VERSION and add the step here.
 */
const MIGRATIONS: ReadonlyMap<number, (rec: Record<string, unknown>) => Record<string, unknown>> = new Map();

/** What a quarantined record is: its key, why, and its modRevision (a later put overwrites it). */
export interface Quarantined {
  key: string;
  reason: string;
  modRevision: number;
}

export type Decoded<T> = { ok: true; rec: T } | { ok: false; reason: string };

/** The record as stored: JSON with the current schemaVersion first. */
export function encodeRecord(rec: object): string {
  return JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...rec });
}

/** At most this many problems are named; the rest are counted. */
const MAX_REASONS = 3;

/** A stored value → its record, or why it cannot be used. Never throws. */
export function decodeRecord<T>(schema: z.ZodType<T>, value: string): Decoded<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, reason: "not a JSON object" };
  let { schemaVersion = 1, ...rec } = raw as Record<string, unknown>;
  if (typeof schemaVersion !== "number" || !Number.isInteger(schemaVersion) || schemaVersion < 1) {
    return { ok: false, reason: `schemaVersion: expected a whole number ≥ 1, got ${JSON.stringify(schemaVersion)?.slice(0, 40)}` };
  }
  if (schemaVersion > SCHEMA_VERSION) {
    return { ok: false, reason: `schemaVersion ${schemaVersion} is newer than this controller reads (up to ${SCHEMA_VERSION}): written by a newer berth?` };
  }
  for (; schemaVersion < SCHEMA_VERSION; schemaVersion++) {
    const up = MIGRATIONS.get(schemaVersion);
    if (up) rec = up(rec);
  }
  const parsed = schema.safeParse(rec);
  if (parsed.success) return { ok: true, rec: inOrderOf(rec, parsed.data) };
  const issues = parsed.error.issues;
  const named = issues.slice(0, MAX_REASONS).map((i) => `${formatSpecPath(i.path.map((p) => (typeof p === "number" ? p : String(p)))) || "(record)"}: ${i.message}`);
  if (issues.length > MAX_REASONS) named.push(`and ${issues.length - MAX_REASONS} more`);
  return { ok: false, reason: named.join("; ") };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `parsed` with its keys in the order `raw` had them. zod builds objects in its
 * schema's order; a spec whose keys move would hash differently on its host (the
 * agent re-adopts a process only for the exact spec it started), so reading a
 * record must not reorder it.
 */
function inOrderOf<T>(raw: unknown, parsed: T): T {
  if (Array.isArray(parsed) && Array.isArray(raw)) return parsed.map((p: unknown, i) => inOrderOf(raw[i], p)) as T;
  if (!isObject(parsed) || !isObject(raw)) return parsed;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(raw)) if (Object.hasOwn(parsed, k)) out[k] = inOrderOf(raw[k], parsed[k]);
  for (const k of Object.keys(parsed)) if (!Object.hasOwn(out, k)) out[k] = parsed[k];
  return out as T;
}

/** The service a key under a per-service prefix (`services/web`, `instances/web/00001`) belongs to. */
export function serviceOfKey(key: string, prefix: string): string {
  return key.slice(prefix.length).split("/")[0] ?? "";
}
