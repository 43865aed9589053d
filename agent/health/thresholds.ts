/**
 * Health as a pure count: consecutive successes and failures against the
 * spec's thresholds. One bad answer does not make an instance unhealthy, nor
 * one good answer healthy again — unless the thresholds say 1. The status
 * starts "unknown" and changes only when a threshold is reached, which is the
 * only moment the agent has something to report.
 *
 * Example, healthyThreshold 2, unhealthyThreshold 3:
 *   ok ok         → healthy (at the 2nd)
 *   fail fail ok  → still healthy (the run of failures was broken)
 *   fail fail fail→ unhealthy (at the 3rd), and stays so until 2 oks in a row
 */

/** One check's outcome (defined here so the pure core imports nothing from the shell). */
export interface CheckResult {
  ok: boolean;
  detail: string;
  /** Nothing listened on the check's port (connection refused): a process still starting, or gone. */
  refused?: boolean;
}

export type HealthStatus = "unknown" | "healthy" | "unhealthy";

export interface HealthCount {
  status: HealthStatus;
  /** Consecutive, ending with the latest result; one of the two is always 0. */
  successes: number;
  failures: number;
  /** When `status` began (for "unknown": when counting began). */
  sinceMs: number;
}

export interface HealthTransition {
  status: "healthy" | "unhealthy";
  /** The result that tipped it: "GET /healthz → 503". */
  detail: string;
  sinceMs: number;
}

export interface Thresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export function initialCount(nowMs: number): HealthCount {
  return { status: "unknown", successes: 0, failures: 0, sinceMs: nowMs };
}

/** The count after one more result, and the transition it causes, if any. */
export function countResult(
  count: HealthCount,
  result: CheckResult,
  nowMs: number,
  t: Thresholds,
): { count: HealthCount; transition?: HealthTransition } {
  const successes = result.ok ? count.successes + 1 : 0;
  const failures = result.ok ? 0 : count.failures + 1;
  // A threshold below 1 would never be "reached" by counting up from 1: treat it as 1.
  const target: HealthStatus | undefined =
    result.ok && successes >= Math.max(1, t.healthyThreshold)
      ? "healthy"
      : !result.ok && failures >= Math.max(1, t.unhealthyThreshold)
        ? "unhealthy"
        : undefined;
  if (target === undefined || target === count.status) {
    return { count: { ...count, successes, failures } };
  }
  return {
    count: { status: target, successes, failures, sinceMs: nowMs },
    transition: { status: target, detail: result.detail, sinceMs: nowMs },
  };
}
