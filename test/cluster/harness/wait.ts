// Polling with a deadline: the one way cluster tests wait for anything. Fixed sleeps are
// either too short on a loaded 2-core box (flaky) or too long everywhere else (slow), so
// every wait is "check a condition until it holds or the deadline passes".

export interface WaitForOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What is being waited for; named in the timeout error. */
  what: string;
}

/**
 * Calls `fn` until it returns something other than `undefined` / `false` and resolves with
 * that value. A throw or rejection counts as "not yet" (the condition may depend on a
 * process that is still starting). On timeout, rejects with an Error naming `what` and the
 * last error or value seen, so a failed wait says why rather than just "timeout".
 *
 * An attempt still in flight at the deadline is abandoned (its result is ignored), so
 * waitFor never overruns its deadline by more than one interval.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitForOptions,
): Promise<T> {
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + opts.timeoutMs;
  let last = "no attempt finished";
  let attempts = 0;
  for (;;) {
    attempts++;
    const remaining = deadline - Date.now();
    const outcome = await withinMs(Promise.resolve().then(fn), Math.max(remaining, 0));
    if (outcome.kind === "value") {
      if (outcome.value !== undefined && outcome.value !== false) return outcome.value;
      last = `last value: ${String(outcome.value)}`;
    } else if (outcome.kind === "error") {
      last = `last error: ${describeError(outcome.error)}`;
    } else {
      last = `last attempt still running at the deadline (${last})`;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(
        `timed out after ${opts.timeoutMs} ms (${attempts} attempts) waiting for ${opts.what}; ${last}`,
      );
    }
    await delay(Math.min(intervalMs, left));
  }
}

type Outcome<T> =
  | { kind: "value"; value: T }
  | { kind: "error"; error: unknown }
  | { kind: "timeout" };

/** Settles with the attempt's outcome, or "timeout" once `ms` have passed, whichever is first. */
function withinMs<T>(attempt: Promise<T>, ms: number): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: "timeout" }), ms);
    attempt.then(
      (value) => {
        clearTimeout(timer);
        resolve({ kind: "value", value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ kind: "error", error });
      },
    );
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
