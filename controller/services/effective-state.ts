/**
 * The one state an instance is shown in (`berth status`, `berth services`,
 * /metrics): "pending" until placed, "lost" while its host is down, else what
 * its host reports for this very copy (same epoch) — nothing known yet is
 * "pending" too.
 */
import type { HostRecord } from "../hosts/host.js";
import { INSTANCE_STATES, instanceId, type InstanceRecord, type InstanceState, type ObservedInstance } from "./records.js";

export const EFFECTIVE_STATES = [...INSTANCE_STATES, "lost"] as const;
export type EffectiveState = InstanceState | "lost";

export function effectiveState(
  i: InstanceRecord,
  host: Pick<HostRecord, "health"> | undefined,
  observed: ReadonlyMap<string, ObservedInstance>,
): { state: EffectiveState; observed: ObservedInstance | undefined } {
  const o = i.hostId ? observed.get(i.hostId) : undefined;
  const obs = o && o.instance === instanceId(i.service, i.slot) && o.epoch === i.epoch ? o : undefined;
  const state: EffectiveState = !i.hostId ? "pending" : host?.health === "down" ? "lost" : (obs?.state ?? "pending");
  return { state, observed: obs };
}
