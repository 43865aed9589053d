/**
 * Records when this process stalls (shared/stalls.ts): a ticker every `everyMs` whose
 * lateness, once it reaches MIN_STALL_MS, is a stall — the event loop ran nothing, so
 * heartbeats and liveness reports sat unread. The failure detector and the liveness
 * reporter take it off hosts' silence.
 */
import { setIntervalClamped } from "../../shared/timer.js";
import { StallLedger, tickStallMs } from "../../shared/stalls.js";

export interface StallWatch {
  /** How long this process stalled after `sinceMono`, at most `capMs` — a stall still running up to now included. */
  stalledSince(sinceMono: number, capMs: number): number;
  stop(): void;
}

export function watchStalls(o: { mono: () => number; keepMs: number; everyMs?: number; onStall?: (ms: number) => void }): StallWatch {
  const everyMs = o.everyMs ?? 100;
  const ledger = new StallLedger(o.keepMs);
  let last = o.mono();
  // The ticker, and anyone asking: after a stall, timers fire in no set order, so a
  // detector pass that runs before this ticker must still see the stall it follows.
  const catchUp = (): void => {
    const now = o.mono();
    const ms = tickStallMs(now - last, everyMs);
    last = now;
    if (ms > 0) {
      ledger.record(now, ms);
      o.onStall?.(ms);
    }
  };
  const timer = setIntervalClamped(catchUp, everyMs);
  timer.unref();
  return {
    stalledSince(sinceMono, capMs) {
      catchUp();
      return ledger.since(sinceMono, capMs);
    },
    stop: () => clearInterval(timer),
  };
}
