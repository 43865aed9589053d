/**
 * Endpoints: the copies of a service that are in service — reported healthy for
 * at least minHealthyTime, on a ready host, and not drained by a rollout (DESIGN.md,
 * "Rollouts"; the same rule as rollout/phase.ts copyPhase "in-service"). Derived, pure,
 * from the records and what hosts report; a move in progress may briefly list
 * both copies of a slot, which is the point of a health-gated move.
 */
import type { Endpoint } from "../../shared/gen/berth/v1/Endpoint.js";
import type { HostRecord } from "../hosts/host.js";
import { instanceId, type InstanceRecord, type ObservedInstance, type ServiceRecord } from "../services/records.js";
import { copyFacts, copyPhase } from "../rollout/phase.js";

export function endpointsOf(
  svc: ServiceRecord,
  instances: readonly InstanceRecord[],
  hosts: ReadonlyMap<string, HostRecord>,
  observed: ReadonlyMap<string, ObservedInstance>,
  nowMs: number,
): Endpoint[] {
  const check = svc.spec.health?.check;
  const port = check && (check.kind === "http" || check.kind === "tcp") ? check.port : 0;
  const minHealthy = svc.spec.update.minHealthyTimeMs;
  const out: Endpoint[] = [];
  for (const i of instances) {
    if (i.service !== svc.name) continue;
    const id = instanceId(i.service, i.slot);
    // A drained serving copy still runs (finishing its requests) but takes no new ones.
    const copies = [...(i.drainingSinceMs == null ? [{ hostId: i.hostId, epoch: i.epoch }] : []), ...(i.moveTo ? [i.moveTo] : [])];
    for (const c of copies) {
      // The rollouts' own rule for "in service", so the two can never disagree.
      if (copyPhase({ ...copyFacts(c.hostId, i, c.epoch, hosts, observed), drainingSinceMs: null }, minHealthy, nowMs) !== "in-service") continue;
      const h = hosts.get(c.hostId)!;
      out.push({ instance: id, host: h.id, address: h.advertiseAddr, port, epoch: c.epoch, revision: observed.get(c.hostId)!.revision });
    }
  }
  return out.sort((a, b) => (a.instance ?? "").localeCompare(b.instance ?? "") || (a.host ?? "").localeCompare(b.host ?? ""));
}

/** When the next copy reaches minHealthyTime, so followers learn of it without a poll. */
export function nextEndpointChangeMs(svc: ServiceRecord, observed: ReadonlyMap<string, ObservedInstance>, nowMs: number): number | undefined {
  let next: number | undefined;
  for (const o of observed.values()) {
    if (o.service !== svc.name || o.state !== "healthy") continue;
    const at = o.sinceMs + svc.spec.update.minHealthyTimeMs;
    if (at > nowMs) next = Math.min(next ?? at, at);
  }
  return next;
}

/**
 * Hosts of the service's copies that are up but have not said what they run since
 * this controller started (or since they reconnected). Until they have, their
 * copies would look out of service: endpoint followers are not sent a list that
 * would drop them, and rollouts do not take a step on that view.
 */
export function silentHosts(name: string, instances: readonly InstanceRecord[], hosts: ReadonlyMap<string, Pick<HostRecord, "health">>, observed: ReadonlyMap<string, ObservedInstance>): string[] {
  const out: string[] = [];
  for (const i of instances) {
    if (i.service !== name) continue;
    for (const h of [i.hostId, i.moveTo?.hostId ?? ""]) {
      const rec = h ? hosts.get(h) : undefined;
      if (rec && rec.health !== "down" && !observed.has(h)) out.push(h);
    }
  }
  return out;
}
