/**
 * Per-service failure state of the reconcile loop (STYLE.md: Kubernetes'
 * rate-limited workqueue, where an error requeues *that key* with backoff). Each
 * service is a unit of decision work; when its unit throws, the failure is its
 * own: recorded here, shown in `berth status`/`berth services`, and retried after
 * an exponential backoff while every other service keeps converging. Pure: the
 * clock comes in as `nowMs`.
 */

/** First retry after a failure. @default 1000 */
export const RETRY_BASE_MS = 1000;
/** Retries never wait longer than this. @default 300000 (5 min) */
export const RETRY_CAP_MS = 5 * 60 * 1000;

export interface UnitError {
  message: string;
  /** When this run of failures began. */
  sinceMs: number;
  /** When it last failed. */
  atMs: number;
  /** Failures in a row. */
  attempts: number;
  /** When the unit is tried again; null: not retried until its records change (a quarantined record). */
  retryAtMs: number | null;
}

/** How long after the `attempts`-th failure in a row the unit is tried again: 1 s, 2 s, 4 s, … capped at 5 min. */
export function retryDelayMs(attempts: number): number {
  const doublings = Math.min(Math.max(0, attempts - 1), 30);
  return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** doublings);
}

/** The unit's error after one more failure. */
export function failed(prev: UnitError | undefined, message: string, nowMs: number): UnitError {
  const attempts = (prev?.retryAtMs === null ? 0 : (prev?.attempts ?? 0)) + 1;
  return { message, sinceMs: prev?.sinceMs ?? nowMs, atMs: nowMs, attempts, retryAtMs: nowMs + retryDelayMs(attempts) };
}

/** The unit's error while one of its stored records is quarantined: nothing to retry until it is replaced. */
export function quarantined(prev: UnitError | undefined, message: string, nowMs: number): UnitError {
  if (prev && prev.retryAtMs === null && prev.message === message) return prev;
  return { message, sinceMs: nowMs, atMs: nowMs, attempts: 1, retryAtMs: null };
}

/**
 * Is the unit due for a try at `nowMs`? One held for a quarantined record is due
 * as soon as the record is readable again (the caller asks only then).
 */
export function due(e: UnitError | undefined, nowMs: number): boolean {
  return e === undefined || e.retryAtMs === null || nowMs >= e.retryAtMs;
}

/** An error's message for operators: one line, bounded. */
export function errorMessage(err: unknown): string {
  const m = err instanceof Error ? `${err.name === "Error" ? "" : `${err.name}: `}${err.message}` : String(err);
  const line = m.replace(/\s+/g, " ").trim();
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
