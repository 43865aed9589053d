/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests:
 * every line is `# HELP name text`, `# TYPE name type`, another comment, empty,
 * or a sample `name{label="value",...} value [timestamp]` — anything else, a
 * sample of an undeclared family, a family declared twice or a series repeated
 * is an error naming the line.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, MetricType>;
  help: Map<string, string>;
}

export class ExpositionError extends Error {
  constructor(line: number, text: string, why: string) {
    super(`line ${line}: ${why}: ${JSON.stringify(text.slice(0, 200))}`);
    this.name = "ExpositionError";
  }
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = "[a-zA-Z_][a-zA-Z0-9_]*";
const TYPES = new Set<MetricType>(["counter", "gauge", "histogram", "summary", "untyped"]);

/** As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case — prom-client writes "Nan". */
function parseValue(s: string): number | undefined {
  if (/^nan$/i.test(s)) return Number.NaN;
  if (/^\+?inf(inity)?$/i.test(s)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(s)) return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** The family a sample belongs to: histogram and summary samples carry suffixes. */
function familyOf(name: string, types: ReadonlyMap<string, MetricType>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = types.get(base);
    if (t === "histogram" || (t === "summary" && suffix !== "_bucket")) return base;
  }
  return undefined;
}

export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() };
  const seen = new Set<string>();
  const lines = text.split("\n");
  // The format ends every line with \n: the last "line" after it is empty.
  if (lines.at(-1) !== "") throw new ExpositionError(lines.length, lines.at(-1) ?? "", "the last line has no newline");
  lines.pop();
  lines.forEach((line, idx) => {
    const n = idx + 1;
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, "HELP" | "TYPE", string, string];
      if (kind === "HELP") {
        if (out.help.has(name)) throw new ExpositionError(n, line, `second HELP for ${name}`);
        out.help.set(name, rest);
      } else {
        if (!TYPES.has(rest as MetricType)) throw new ExpositionError(n, line, `unknown type "${rest}"`);
        if (out.types.has(name)) throw new ExpositionError(n, line, `second TYPE for ${name}`);
        if (out.samples.some((s) => familyOf(s.name, new Map([[name, rest as MetricType]])) === name)) throw new ExpositionError(n, line, `TYPE of ${name} after its samples`);
        out.types.set(name, rest as MetricType);
      }
      return;
    }
    const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`).exec(line);
    if (!m) throw new ExpositionError(n, line, "not a sample (name{labels} value)");
    const [, name, rawLabels, rawValue] = m as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    if (rawLabels !== undefined && rawLabels !== "") {
      const re = new RegExp(`(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"(,|$)`, "y");
      let pos = 0;
      while (pos < rawLabels.length) {
        re.lastIndex = pos;
        const l = re.exec(rawLabels);
        if (!l) throw new ExpositionError(n, line, `bad label at "${rawLabels.slice(pos, pos + 40)}"`);
        const key = l[1]!;
        if (key in labels) throw new ExpositionError(n, line, `label ${key} twice`);
        labels[key] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
        pos = re.lastIndex;
      }
    }
    const value = parseValue(rawValue);
    if (value === undefined) throw new ExpositionError(n, line, `bad value "${rawValue}"`);
    const family = familyOf(name, out.types);
    if (family === undefined) throw new ExpositionError(n, line, `sample of ${name} without a TYPE line before it`);
    if (name.endsWith("_bucket") && out.types.get(family) === "histogram" && !("le" in labels)) throw new ExpositionError(n, line, "histogram bucket without le");
    const key = `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
    if (seen.has(key)) throw new ExpositionError(n, line, "the same series twice");
    seen.add(key);
    out.samples.push({ name, labels, value });
  });
  return out;
}

/** Samples of `name` whose labels include every pair of `match`. */
export function select(e: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The one sample of `name` matching `match`; throws when there is none or several. */
export function value(e: Exposition, name: string, match: Record<string, string> = {}): number {
  const s = select(e, name, match);
  if (s.length !== 1) throw new Error(`${name}${JSON.stringify(match)}: ${s.length} samples, expected 1`);
  return s[0]!.value;
}

/** The sum of the samples of `name` matching `match` (0 when none). */
export function total(e: Exposition, name: string, match: Record<string, string> = {}): number {
  return select(e, name, match).reduce((a, s) => a + s.value, 0);
}
