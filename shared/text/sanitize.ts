/**
 * Text that came from a host, a client or a stored record, made safe for a
 * terminal: every control character is shown as an escape (`\x1b`, `\x0a`,
 * `\u202e`) instead of acting. A hostname, an event message or an install tail
 * then cannot clear the screen, set the window title, write the clipboard (OSC
 * 52), move the cursor to fake rows, colour itself as if berth had, or flip the
 * text direction (Trojan Source). What berth adds itself (its colours, the
 * progress display's cursor moves) is added after this, around sanitized text.
 *
 * Escaped: C0 (U+0000–U+001F) but tab and newline where lines are kept, DEL,
 * C1 (U+0080–U+009F, which some terminals obey as CSI/OSC), and the invisible
 * format characters that reorder or hide text: U+200B–U+200F, U+2028–U+202E,
 * U+2060–U+2069, U+FEFF.
 */

/** What is escaped beyond C0: DEL, C1 and the format characters (a regex class body). */
const BEYOND_C0_CLASS = "\\u007f-\\u009f\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff";
const SINGLE_LINE = new RegExp(`[\\u0000-\\u001f${BEYOND_C0_CLASS}]`, "g");
const MULTI_LINE = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f${BEYOND_C0_CLASS}]`, "g");
/** What sanitize escapes but C0, which JSON.stringify escapes in strings (and its own layout needs newlines). */
const BEYOND_C0 = new RegExp(`[${BEYOND_C0_CLASS}]`, "g");

function escape(ch: string): string {
  const c = ch.charCodeAt(0);
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16).padStart(4, "0")}`;
}

/**
 * One line of untrusted text: every control character escaped, newlines and
 * tabs included (a cell or a line must stay one line). Idempotent: escaping
 * escaped text changes nothing, as the escapes are printable.
 */
export function sanitize(s: string): string {
  return s.replace(SINGLE_LINE, escape);
}

/**
 * JSON text with every character sanitize() escapes written as a JSON escape
 * (`\u009b`): it parses to the very same data, and shows on a terminal as text.
 * JSON.stringify escapes C0 itself, not C1 nor the format characters.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(BEYOND_C0, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Every string in a tree of plain data (objects, arrays) sanitized, keys too: for YAML meant for a terminal. */
export function sanitizeTree(v: unknown): unknown {
  if (typeof v === "string") return sanitize(v);
  if (Array.isArray(v)) return v.map(sanitizeTree);
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [sanitize(k), sanitizeTree(x)]));
  }
  return v;
}

/** Several lines of untrusted text (an install tail): as sanitize, but newlines and tabs are kept. */
export function sanitizeLines(s: string): string {
  return s.replace(MULTI_LINE, escape);
}

/** The SGR (colour) sequences berth itself adds: the only escapes in sanitized text. */
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[0-9;]*m/g;

/**
 * Columns a sanitized string takes on a terminal: its code points, berth's own
 * colour sequences not counted. (Wide CJK characters count one; rare in what
 * hosts report.)
 */
export function visibleWidth(s: string): number {
  return [...s.replace(SGR, "")].length;
}

/** Pads a sanitized string to `width` visible columns. */
export function padVisible(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - visibleWidth(s)));
}
