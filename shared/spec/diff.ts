/**
 * Field-level differences between two normalized specs, for `berth plan`: what an apply
 * would change, as `run.env.LOG_LEVEL: "info" → "debug"` or `update.minHealthyTime: "5s"
 * → "2s"` — in the words and units of the spec file the user edits, never the stored
 * form's (`minHealthyTimeMs: 5000`, `health.check.port`). Pure.
 */
import { formatSpecPath } from "./path.js";
import type { SpecPath } from "./path.js";
import { toSpecInput } from "./schema.js";
import type { ServiceSpec } from "./types.js";

export interface FieldChange {
  /** as in validation errors: `instances`, `run.env.LOG_LEVEL`, `health.check.port` */
  path: string;
  /** undefined when the field did not exist before (a new service, a new env var) */
  from: unknown;
  /** undefined when the field is gone (a deleted service, a removed env var) */
  to: unknown;
}

/**
 * Every leaf that differs, in the order of `next`'s fields (then fields only `old` has).
 * Arrays are leaves, compared whole: `install.apt` [a] → [a, b] is one change, which
 * reads better than per-index changes when an item is inserted. A block that appears or
 * disappears (the whole spec, `health`, `artifact`) is listed field by field, with
 * undefined on the side where it is absent or null.
 */
export function diffSpecs(old: ServiceSpec | undefined, next: ServiceSpec | undefined): FieldChange[] {
  const out: FieldChange[] = [];
  walk(asWritten(old), asWritten(next), [], out);
  return out;
}

/**
 * The spec as a user writes it (toSpecInput: every field explicit, durations exact, so two
 * different values never read the same). A stored artifact keeps its digest beside its
 * path: new contents at the same path are a change, and the plan must say so.
 */
function asWritten(spec: ServiceSpec | undefined): Record<string, unknown> | undefined {
  if (!spec) return undefined;
  const input: Record<string, unknown> = { ...toSpecInput(spec) };
  const a = spec.artifact;
  if (a) input.artifact = a.kind === "url" ? { url: a.url, sha256: a.sha256 } : { source: a.source, sha256: a.sha256 };
  // A secret by name and version, never by value: a new value shows as a new version.
  const refs = (m: ServiceSpec["secrets"]) => Object.fromEntries(Object.entries(m).map(([k, r]) => [k, `${r.secret} (version ${r.version})`]));
  input.secrets = refs(spec.secrets);
  input.secretFiles = refs(spec.secretFiles);
  // In the stored spec's field order (the order of DESIGN's example), not toSpecInput's.
  return Object.fromEntries(Object.keys(spec).filter((k) => Object.hasOwn(input, k)).map((k) => [k, input[k]]));
}

function walk(a: unknown, b: unknown, path: SpecPath, out: FieldChange[]): void {
  if (isRecord(a) || isRecord(b)) {
    const left = isRecord(a) ? a : undefined;
    const right = isRecord(b) ? b : undefined;
    // A record meeting something other than absent/null (a shape change) is one leaf.
    if ((!left && a != null) || (!right && b != null)) {
      out.push({ path: formatSpecPath(path), from: a, to: b });
      return;
    }
    const keys = [...new Set([...Object.keys(right ?? {}), ...Object.keys(left ?? {})])];
    for (const k of keys) walk(left?.[k], right?.[k], [...path, k], out);
    return;
  }
  if (!deepEqual(a ?? undefined, b ?? undefined)) out.push({ path: formatSpecPath(path), from: a ?? undefined, to: b ?? undefined });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}
