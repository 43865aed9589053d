/**
 * A name the caller gave, as an error repeats it: in double quotes, cut to `max`
 * characters, with a newline or escape written as \n, \u001b (JSON's escapes) — so
 * `no service "a\nb"` stays one line, and a 100 KB name is not echoed whole.
 */
/** `s` cut to `max` characters, the last an ellipsis when it was longer. */
export function clip(s: string, max = 64): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function quote(s: string, max = 64): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
