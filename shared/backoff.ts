/**
 * Retry delays as data plus a small function (after Temporal's grpc-retry):
 * exponential growth from initialMs by factor, capped at maxMs, with jitter so a
 * fleet of agents that lost the same controller does not reconnect in lockstep.
 */
export interface BackoffPolicy {
  /** @default 200 */
  initialMs: number;
  /** @default 10000 */
  maxMs: number;
  /** @default 2 */
  factor: number;
  /** Share of the delay that is random, 0..1. @default 0.5 */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 10_000, factor: 2, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (0-based). With jitter j the delay lies in
 * [base·(1−j), base], base = min(maxMs, initialMs·factor^attempt).
 * Example (defaults): attempt 0 → 100..200 ms, 3 → 800..1600 ms, 10 → 5..10 s.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
  return Math.round(base * (1 - policy.jitter * random()));
}
