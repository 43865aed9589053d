/**
 * A field's address inside a service spec, and how people read it: `run.env.LOG_LEVEL`,
 * `install.steps[0].timeout`, `constraints["topology/zone"]`. Validation errors and
 * `berth plan` use the same form, so what one prints the other can be grepped for.
 */
export type SpecPath = readonly (string | number)[];

/** Keys that read unambiguously after a dot; anything else is quoted in brackets. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatSpecPath(path: SpecPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
