// Bounded waiting for calls that may fail or hang (systeminformation shells out to
// lsblk, dmesg, df, ip …; statfs on a dead NFS mount never returns).
import { setTimeoutClamped } from "../../shared/timer.js";

export type Outcome<T> = { ok: true; value: T } | { ok: false; reason: unknown };

export class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/**
 * Runs `work` and settles with its value, its error, or a TimeoutError after `ms`,
 * whichever comes first. Never rejects, so callers can treat every fact as optional.
 *
 * The timeout cannot cancel the work: a hung child process or fs request keeps
 * running, which is why callers that repeat work (UsageSampler) also keep at most
 * one call of each kind in flight. Note too that some systeminformation functions
 * use execSync internally; those block the event loop and no timer can preempt them.
 */
export function within<T>(work: () => Promise<T>, ms: number): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    // unref: a pending timeout must not be what keeps the process alive.
    const timer = setTimeoutClamped(() => resolve({ ok: false, reason: new TimeoutError(ms) }), ms);
    timer.unref();
    let p: Promise<T>;
    try {
      p = work();
    } catch (reason: unknown) {
      // A synchronous throw is just another failure.
      clearTimeout(timer);
      resolve({ ok: false, reason });
      return;
    }
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve({ ok: true, value });
      },
      (reason: unknown) => {
        clearTimeout(timer);
        resolve({ ok: false, reason });
      },
    );
  });
}

/**
 * Keeps at most one call of `work` running: while one is in flight, run() returns
 * the same promise instead of starting another. Combined with within(), a call
 * that hangs costs one stuck request, not one per interval.
 */
export class SingleFlight<T> {
  private pending: Promise<T> | undefined;

  constructor(private readonly work: () => Promise<T>) {}

  get busy(): boolean {
    return this.pending !== undefined;
  }

  run(): Promise<T> {
    if (this.pending) return this.pending;
    let p: Promise<T>;
    try {
      p = this.work();
    } catch (err: unknown) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const tracked = p.finally(() => {
      if (this.pending === tracked) this.pending = undefined;
    });
    this.pending = tracked;
    return tracked;
  }
}
