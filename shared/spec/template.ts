/**
 * `${NAME}` references in `run.args` and `run.env` values (DESIGN.md's
 * `LISTEN: "${BERTH_ADVERTISE_ADDR}:8080"`): parsed here, checked at apply time
 * (referenceIssues, from parse.ts), expanded on the agent (agent/supervisor/env.ts).
 *
 * The rules, one place for both sides:
 * - `${NAME}` is a reference; NAME is an environment variable name.
 * - `$$` is a literal `$` (so `$${HOME}` passes `${HOME}` on, e.g. to a `sh -c` script).
 * - A `$` followed by anything else is itself: `$HOME` and `$1` in a `sh -c` script
 *   reach the shell untouched, as they always did.
 * - run.env values may use the instance's BERTH_* variables; run.args may use those and
 *   every run.env name (its expanded value). run.env values do not refer to each other:
 *   a YAML mapping has no order a reader should have to think about (Kubernetes expands
 *   only entries defined earlier), and without that there can be no cycle.
 * - A name outside that set is refused at apply time, naming the field; the agent, for
 *   specs stored before these rules, leaves such a reference as written (as Kubernetes does).
 */
import type { SpecIssue } from "./issues.js";

/** What the agent sets for every instance (agent/converge/converger.ts `env`). */
export const INSTANCE_VARS = ["BERTH_SERVICE", "BERTH_INSTANCE", "BERTH_EPOCH", "BERTH_VERSION", "BERTH_ADVERTISE_ADDR"] as const;
export type InstanceVar = (typeof INSTANCE_VARS)[number];

export type TemplatePart = { text: string } | { ref: string };

export type ParsedTemplate = { parts: TemplatePart[]; error?: undefined } | { parts?: undefined; error: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `a-${X}-$$` → [text "a-", ref X, text "-$"]; or what is wrong, with the character it is at (from 1). */
export function parseTemplate(s: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let text = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    const next = s[i + 1];
    if (c !== "$" || (next !== "$" && next !== "{")) {
      text += c;
      i++;
    } else if (next === "$") {
      text += "$";
      i += 2;
    } else {
      const close = s.indexOf("}", i + 2);
      if (close < 0) return { error: `unclosed "\${" at character ${i + 1}: write \${NAME}, or $\${ for a literal "\${"` };
      const name = s.slice(i + 2, close);
      if (!NAME.test(name)) {
        const shown = name.length > 30 ? `${name.slice(0, 30)}…` : name;
        return { error: `"\${${shown}}" at character ${i + 1} is not a variable reference: berth expands only \${NAME}; write $\${ for a literal "\${"` };
      }
      if (text) parts.push({ text });
      text = "";
      parts.push({ ref: name });
      i = close + 1;
    }
  }
  if (text) parts.push({ text });
  return { parts };
}

/** The references in `s`, or none when it does not parse. */
export function referencesOf(s: string): string[] {
  return (parseTemplate(s).parts ?? []).flatMap((p) => ("ref" in p ? [p.ref] : []));
}

/**
 * Every malformed or unknown reference in a spec as the user wrote it (plain data, not
 * yet validated: anything that is not a string where one is expected is the schema's
 * business and skipped here). Paths are the fields', so the error names them.
 */
export function referenceIssues(raw: unknown): SpecIssue[] {
  const run = isRecord(raw) && isRecord(raw.run) ? raw.run : undefined;
  if (!run) return [];
  const env = isRecord(run.env) ? run.env : {};
  const envNames = Object.keys(env);
  const instance: readonly string[] = INSTANCE_VARS;
  const issues: SpecIssue[] = [];
  const check = (value: unknown, path: (string | number)[], allowed: readonly string[], what: string): void => {
    if (typeof value !== "string") return;
    const parsed = parseTemplate(value);
    if (parsed.error !== undefined) {
      issues.push({ path, message: parsed.error, at: "value" });
      return;
    }
    for (const ref of referencesOf(value)) {
      if (allowed.includes(ref)) continue;
      const why =
        what === "run.env values" && envNames.includes(ref)
          ? `run.env values cannot use other run.env entries (\${${ref}}): write the value out`
          : `unknown variable \${${ref}}: ${what} may use ${allowed.join(", ")}`;
      issues.push({ path, message: `${why}; write $\${${ref}} for the literal text`, at: "value" });
    }
  };
  for (const [k, v] of Object.entries(env)) check(v, ["run", "env", k], instance, "run.env values");
  if (Array.isArray(run.args)) {
    const allowed = [...envNames.filter((n) => NAME.test(n)), ...instance];
    run.args.forEach((a: unknown, i) => check(a, ["run", "args", i], allowed, "run.args"));
  }
  return issues;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
