/**
 * Self-fencing's timing, shared by the agent (which stops the instance), its
 * watchdog (which stops it when the agent is dead) and the controller (which
 * waits for both before it starts a replacement). DESIGN.md "Epochs and fencing".
 */

/** How often the watchdog reads the lease. */
export const WATCHDOG_CHECK_MS = 100;

/**
 * How long past the lease's deadline the watchdog leaves the first move to a
 * live agent, whose own fence checks every 100 ms and removes the lease as it
 * stops the instance: the two never signal the service both.
 */
export const WATCHDOG_GRACE_MS = 300;

/**
 * The most the watchdog starts its stop after the deadline (grace, one check
 * period, and a slow read), before the stop timeout. The controller's fencing
 * margin must cover it (controller/reconcile/planner.ts, replaceableAtMs).
 */
export const WATCHDOG_LAG_MS = WATCHDOG_GRACE_MS + WATCHDOG_CHECK_MS + 100;

/**
 * How a status detail begins when the agent stopped its instance by self-fencing:
 * the controller tells such a stop from any other by it (and sends the host its
 * assignment again when the host was not judged down: controller/reconcile/planner.ts,
 * step 2b).
 */
export const SELF_FENCED = "self-fenced:";

/** After SELF_FENCED, when the agent was not running and its fencing watchdog stopped the instance. */
export const WATCHDOG_FENCED = "its agent was not running, and the controller had not answered for longer than stopAfterDisconnect: the fencing watchdog stopped it";

/** The detail of a self-fenced instance. */
export function selfFencedDetail(quietMs: number, limitMs: number): string {
  return `${SELF_FENCED} no word from the controller for ${(quietMs / 1000).toFixed(1)}s (stopAfterDisconnect ${limitMs / 1000}s)`;
}
