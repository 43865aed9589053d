/**
 * A disk that cannot be written (full, over quota, read-only, failing), found
 * anywhere in an error's cause chain: LevelDB wraps its I/O errors
 * (LEVEL_IO_ERROR, "IO error: …: No space left on device") and abstract-level
 * wraps those again in LEVEL_DATABASE_NOT_OPEN, whose own message says only
 * "Database failed to open". Pure.
 */
const FULL_CODES = new Set(["ENOSPC", "EDQUOT"]);
const IO_CODES = new Set(["EROFS", "EIO", "LEVEL_IO_ERROR"]);
const FULL_TEXT = /No space left on device|Disk quota exceeded/i;

/** An error and its causes, outermost first; the bound guards against a cycle. */
export function causeChain(err: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let e = err, depth = 0; depth < 8 && typeof e === "object" && e !== null; depth++) {
    out.push(e as Record<string, unknown>);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

const messageOf = (e: Record<string, unknown>): string => (typeof e.message === "string" ? e.message : "");

/** What stops the disk being written, when that is what `err` is: `full` for no space (or quota) left. */
export function diskProblem(err: unknown): { full: boolean; message: string } | undefined {
  let io: { full: boolean; message: string } | undefined;
  for (const e of causeChain(err)) {
    const code = typeof e.code === "string" ? e.code : "";
    if (FULL_CODES.has(code) || FULL_TEXT.test(messageOf(e))) return { full: true, message: messageOf(e) };
    if (IO_CODES.has(code) || /^IO error:/.test(messageOf(e))) io ??= { full: false, message: messageOf(e) };
  }
  return io;
}

/** Every distinct message of the cause chain, outermost first: "Database failed to open: IO error: …". */
export function causeText(err: unknown): string {
  const parts: string[] = [];
  for (const e of causeChain(err)) {
    const m = messageOf(e);
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
  }
  return parts.join(": ") || String(err);
}
