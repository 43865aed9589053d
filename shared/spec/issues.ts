/**
 * Spec validation problems as values (STYLE.md "Errors as values at the boundary"): each
 * names its field and says what was expected. zod finds the problems; this file words
 * them for people who write YAML (a "mapping", a "list", not an "object"/"array").
 */
import { z } from "zod";
import type { SpecPath } from "./path.js";
import { editDistance } from "../closest.js";

export interface SpecIssue {
  path: SpecPath;
  message: string;
  /**
   * What the problem is about: the field's value (default), or its key — an unknown
   * field or a bad env/label name, where an editor should point at the name itself.
   */
  at: "value" | "key";
}

/** Thrown by normalizeSpec; validateSpec returns the same issues as a value. */
export class SpecValidationError extends Error {
  constructor(readonly issues: SpecIssue[]) {
    super(`invalid service spec: ${issues.map((i) => i.message).join("; ")}`);
    this.name = "SpecValidationError";
  }
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

/** What the user actually wrote, in YAML words, short enough for one line. */
export function describeValue(input: unknown): string {
  if (input === null) return "an empty value";
  if (Array.isArray(input)) return "a list";
  switch (typeof input) {
    case "string": {
      const s = input.length > 40 ? `${input.slice(0, 40)}…` : input;
      return `the string ${JSON.stringify(s)}`;
    }
    case "number":
      return Number.isInteger(input) ? `the number ${input}` : `the fractional number ${input}`;
    case "boolean":
      return `${input}`;
    case "object":
      return "a mapping";
    case "undefined":
      return "nothing";
    case "bigint":
    case "symbol":
    case "function":
      return typeof input;
  }
  return "a value";
}

export function unknownFieldMessage(key: string, allowed: readonly string[]): string {
  // stop_signal, StopSignal, memory_mb: the same word in another case style.
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const near =
    allowed.find((k) => squash(k) === squash(key)) ??
    allowed.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= Math.min(2, Math.floor(k.length / 3)));
  const hint = near ? `did you mean "${near}"?` : `expected one of: ${allowed.join(", ")}`;
  return `unknown field "${key}": ${hint}`;
}

function bound(origin: string, limit: number | bigint, inclusive: boolean, side: "min" | "max"): string {
  if (origin === "string") {
    if (side === "min") return limit === 1 ? "must not be empty" : `must be at least ${limit} characters`;
    return `must be at most ${limit} characters`;
  }
  if (origin === "array") {
    if (side === "min") return limit === 1 ? "must not be empty" : `must have at least ${limit} items`;
    return `must have at most ${limit} items`;
  }
  if (side === "min") return inclusive ? `must be at least ${limit}` : `must be greater than ${limit}`;
  return inclusive ? `must be at most ${limit}` : `must be less than ${limit}`;
}

/**
 * The error map for every spec parse. Messages set on a schema (`{ error: "…" }`) take
 * precedence; this covers the rest. An unknown-keys issue gets one line per key, split
 * again by toSpecIssues so each key becomes its own issue pointing at that key.
 */
export const specErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type": {
      const whole = iss.expected === "number" && iss.inst instanceof z.ZodNumber && iss.inst.isInt;
      const expected = whole ? "a whole number" : (EXPECTED[iss.expected] ?? iss.expected);
      if (iss.input === undefined) return `required field is missing (expected ${expected})`;
      return `expected ${expected}, got ${describeValue(iss.input)}`;
    }
    case "too_small":
      return bound(iss.origin, iss.minimum, iss.inclusive ?? true, "min");
    case "too_big":
      return bound(iss.origin, iss.maximum, iss.inclusive ?? true, "max");
    case "invalid_format":
      return iss.format === "regex" && iss.pattern ? `must match ${iss.pattern}` : `must be a valid ${iss.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${iss.divisor}`;
    case "invalid_value":
      return iss.values.length === 1
        ? `expected ${JSON.stringify(iss.values[0])}, got ${describeValue(iss.input)}`
        : `expected one of: ${iss.values.map((v) => JSON.stringify(v)).join(", ")}; got ${describeValue(iss.input)}`;
    case "unrecognized_keys": {
      const allowed = iss.inst instanceof z.ZodObject ? Object.keys(iss.inst.shape) : [];
      return iss.keys.map((k) => unknownFieldMessage(k, allowed)).join("\n");
    }
    case "invalid_key":
      return iss.issues.map((i) => i.message).join("; ");
    case "invalid_union":
      return `does not match any allowed form, got ${describeValue(iss.input)}`;
    case "invalid_element":
    case "custom":
      return undefined;
  }
};

/**
 * The wording of a problem that depends on which fields the user wrote: a default they
 * never wrote is named as such, with the field to set (`timeout defaults to 1s, which
 * must be shorter than interval (500ms): set health.timeout`). A rule attaches one to its
 * issue as `params.explain`; toSpecIssues calls it, knowing the input.
 */
export type Explain = (written: (path: SpecPath) => boolean) => string;

function explainOf(iss: z.core.$ZodIssue): Explain | undefined {
  if (iss.code !== "custom") return undefined;
  const explain: unknown = iss.params?.explain;
  return typeof explain === "function" ? (explain as Explain) : undefined;
}

/** Whether `path` is present in `raw`, the spec as written (before defaults). */
export function writtenIn(raw: unknown): (path: SpecPath) => boolean {
  return (path) => {
    let node: unknown = raw;
    for (const seg of path) {
      if (typeof node !== "object" || node === null || !Object.hasOwn(node, seg)) return false;
      node = (node as Record<string | number, unknown>)[seg];
    }
    return node !== undefined;
  };
}

/**
 * zod's issues → SpecIssues: unknown keys split one per key, key problems marked as such.
 * `written` says which fields the input had (writtenIn); without it every field counts
 * as written.
 */
export function toSpecIssues(issues: readonly z.core.$ZodIssue[], written: (path: SpecPath) => boolean = () => true): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const iss of issues) {
    const path = iss.path.map((p) => (typeof p === "number" ? p : String(p)));
    switch (iss.code) {
      case "unrecognized_keys": {
        const lines = iss.message.split("\n");
        iss.keys.forEach((key, i) => {
          const message = lines.length === iss.keys.length ? lines[i]! : `unknown field "${key}"`;
          out.push({ path: [...path, key], message, at: "key" });
        });
        break;
      }
      case "invalid_key":
        out.push({ path, message: iss.message, at: "key" });
        break;
      case "invalid_type":
      case "too_big":
      case "too_small":
      case "invalid_format":
      case "not_multiple_of":
      case "invalid_union":
      case "invalid_element":
      case "invalid_value":
        out.push({ path, message: iss.message, at: "value" });
        break;
      case "custom":
        out.push({ path, message: explainOf(iss)?.(written) ?? iss.message, at: "value" });
        break;
    }
  }
  return out;
}
