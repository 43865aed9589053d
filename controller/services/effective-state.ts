/**
 * The one state an instance is shown in (`berth status`, `berth services`,
 * /metrics): "pending" until placed, "lost" while its host is down, else what
 * its host reports for this very copy (same epoch) — nothing known yet is
 * "pending" too; "draining" while a rollout has taken a healthy copy out of the endpoints.
 */
import type { HostRecord } from "../hosts/host.js";
import { INSTANCE_STATES, observedCopy, type InstanceRecord, type InstanceState, type ObservedInstance } from "./records.js";

export const EFFECTIVE_STATES = [...INSTANCE_STATES, "lost", "draining"] as const;
/** "draining": healthy, but out of the endpoints for a rollout until it is replaced or retired. */
export type EffectiveState = InstanceState | "lost" | "draining";

export function effectiveState(
  i: InstanceRecord,
  host: Pick<HostRecord, "health"> | undefined,
  observed: ReadonlyMap<string, ObservedInstance>,
): { state: EffectiveState; observed: ObservedInstance | undefined } {
  const obs = observedCopy(observed, i.hostId, i, i.epoch);
  const reported: EffectiveState = !i.hostId ? "pending" : host?.health === "down" ? "lost" : (obs?.state ?? "pending");
  const state: EffectiveState = i.drainingSinceMs != null && reported === "healthy" ? "draining" : reported;
  return { state, observed: obs };
}
