/**
 * Host labels: `dc=dc1,rack=r7`. Keys and values are short and plain so they are
 * safe in tables, constraints and file names.
 */
export const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
export const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
export const MAX_LABELS = 32;

export type Labels = Record<string, string>;

/** Every problem with a label set, each naming the label; empty when valid. */
export function labelProblems(labels: Labels, field = "labels"): string[] {
  const problems: string[] = [];
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) problems.push(`${field}: at most ${MAX_LABELS} labels, got ${entries.length}`);
  for (const [k, v] of entries.slice(0, MAX_LABELS + 1)) {
    if (!LABEL_KEY.test(k)) problems.push(`${field}: key "${k.slice(0, 80)}" must be lowercase [a-z0-9._/-], 1–63 chars`);
    if (!LABEL_VALUE.test(v)) problems.push(`${field}.${k.slice(0, 80)}: value "${v.slice(0, 80)}" must be [A-Za-z0-9._-], 1–63 chars`);
  }
  return problems;
}

export class LabelError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "LabelError";
  }
}

/** Parses `k=v,k2=v2` (as given to --labels); throws LabelError naming every bad part. */
export function parseLabels(input: string): Labels {
  const labels: Labels = {};
  const problems: string[] = [];
  for (const part of input.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) {
      problems.push(`labels: "${part}" is not key=value`);
      continue;
    }
    const k = part.slice(0, eq);
    if (k in labels) problems.push(`labels: "${k}" given twice`);
    labels[k] = part.slice(eq + 1);
  }
  problems.push(...labelProblems(labels));
  if (problems.length) throw new LabelError(problems);
  return labels;
}

export function formatLabels(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}
