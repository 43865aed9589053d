/**
 * The debouncer, pure (consul-template's `wait { min max }`): changes are applied
 * once they have been quiet for `quietMs`, and never later than `maxMs` after the
 * first one not yet applied — so a rollout of 20 instances is a few reloads, not 40,
 * and a stream of changes that never pauses is still applied.
 *
 * Worked example, quiet 300 ms, max 2 s: changes at 0, 100, 250 → applied at 550.
 * Changes every 200 ms from 0 on → applied at 2000 (the max), then again 2 s later.
 */
export interface DebounceWindow {
  quietMs: number;
  maxMs: number;
}

export interface Debounce {
  /** The first change not applied yet; null when there is none. */
  firstMs: number | null;
  lastMs: number | null;
}

export const IDLE: Debounce = { firstMs: null, lastMs: null };

export function changed(d: Debounce, nowMs: number): Debounce {
  return { firstMs: d.firstMs ?? nowMs, lastMs: nowMs };
}

/** When to apply; null when nothing waits. */
export function dueAtMs(d: Debounce, w: DebounceWindow): number | null {
  if (d.firstMs === null || d.lastMs === null) return null;
  return Math.min(d.lastMs + w.quietMs, d.firstMs + w.maxMs);
}
