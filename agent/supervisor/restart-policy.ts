/**
 * "Restart, after what delay?" as a pure decision (after Nomad's
 * taskrunner/restarts/restarts.go): the supervisor hands in what it knows about
 * the run that just ended and gets back data — restart after delayMs, or give
 * up with a reason. No timers, no clock, no I/O in here.
 *
 * Counting. `failures` is the number of consecutive *quick* exits: runs shorter
 * than stableAfterMs. A run that lasted at least stableAfterMs proves the service
 * can work, so its exit resets the count to 0 (the next quick exit is failure 1
 * again). Every exit counts the same, code 0 included: a service is meant to run
 * until it is stopped, so exiting on its own is not success.
 *
 * Worked example with the defaults (1 s, ×2, cap 30 s, jitter 0.2, at most 10):
 *   quick exits 1,2,3,4,5,6,7 → delays ≈ 1, 2, 4, 8, 16, 30, 30 s (each up to 20 % shorter)
 *   quick exit 11 → fail ("… 11 times in a row, each within 30s of starting")
 *   an exit after ≥ 30 s of running → failures 0, delay ≈ 1 s.
 */
import { backoffDelayMs, type BackoffPolicy } from "../../shared/backoff.js";
import { formatDurationMs, parseDurationMs } from "../../shared/duration.js";
import { SPEC_DEFAULTS } from "../../shared/spec/schema.js";

export interface RestartPolicy extends BackoffPolicy {
  /** Delay after the first quick failure (and after a stable run). @default 1000 */
  initialMs: number;
  /** Cap on the delay. @default 30000 */
  maxMs: number;
  /** Growth per further consecutive quick failure. @default 2 */
  factor: number;
  /** Share of the delay that is random (the delay lies in [d·(1−jitter), d]). @default 0.2 */
  jitter: number;
  /** A run at least this long is "stable" and resets the failure count. @default 30000 */
  stableAfterMs: number;
  /** Give up when consecutive quick failures exceed this. @default 10 */
  maxQuickFailures: number;
}

/** A spec's run.restart sets initialMs, maxMs and maxQuickFailures; its defaults are these. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialMs: parseDurationMs(SPEC_DEFAULTS.run.restart.delay),
  maxMs: parseDurationMs(SPEC_DEFAULTS.run.restart.maxDelay),
  factor: 2,
  jitter: 0.2,
  stableAfterMs: 30_000,
  maxQuickFailures: SPEC_DEFAULTS.run.restart.attempts,
};

export interface RestartState {
  /** Consecutive quick failures before the exit being decided on. */
  failures: number;
  /** When the run that just ended started (ms since epoch). */
  lastStartMs: number;
  /** When it ended (ms since epoch); the delay is counted from here. */
  lastExitMs: number;
}

export interface ExitInfo {
  /** null when the process was killed by a signal, or its status is unknown. */
  code: number | null;
  signal: string | null;
}

export type RestartDecision =
  | {
      action: "restart";
      /** How long to wait from nowMs; already reduced by the time since lastExitMs. */
      delayMs: number;
      /** The failure count to carry into the next decision. */
      failures: number;
      /** Why, for the state and the log: "exited with code 1 after 2s (restart 3 of 10)". */
      reason: string;
    }
  | { action: "fail"; reason: string; failures: number };

/** "exited with code 1", "killed by SIGKILL", "exited (status unknown)". */
export function describeExit(exit: ExitInfo): string {
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  if (exit.code !== null) return `exited with code ${exit.code}`;
  return "exited (status unknown)";
}

/**
 * Decides what follows an exit. `nowMs` may lie after `lastExitMs` (the agent
 * was busy, or restarted and re-derives the decision from its state file): the
 * time already waited is taken off the delay, so re-deciding never waits twice.
 */
export function nextRestart(
  state: RestartState,
  exit: ExitInfo,
  nowMs: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  random: () => number = Math.random,
): RestartDecision {
  const ranMs = Math.max(0, state.lastExitMs - state.lastStartMs);
  const stable = ranMs >= policy.stableAfterMs;
  const failures = stable ? 0 : state.failures + 1;
  const what = `${describeExit(exit)} after ${formatDurationMs(ranMs)}`;
  if (failures > policy.maxQuickFailures) {
    return {
      action: "fail",
      failures,
      reason: `${what}: ${failures} times in a row, each within ${formatDurationMs(policy.stableAfterMs)} of starting`,
    };
  }
  // The first quick failure waits as long as a stable run's exit: attempt 0 both.
  const wantedMs = backoffDelayMs(policy, Math.max(0, failures - 1), random);
  const delayMs = Math.max(0, wantedMs - Math.max(0, nowMs - state.lastExitMs));
  return {
    action: "restart",
    delayMs,
    failures,
    reason: stable ? `${what} (ran stable, failure count reset)` : `${what} (restart ${failures} of ${policy.maxQuickFailures})`,
  };
}
