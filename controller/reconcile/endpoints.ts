/**
 * Endpoints: the copies of a service that are in service — reported healthy for
 * at least minHealthyTime, on a ready host (DESIGN.md, "Rollouts"). Derived, pure,
 * from the records and what hosts report; a move in progress may briefly list
 * both copies of a slot, which is the point of a health-gated move.
 */
import type { Endpoint } from "../../shared/gen/berth/v1/Endpoint.js";
import type { HostRecord } from "../hosts/host.js";
import { instanceId, type InstanceRecord, type ObservedInstance, type ServiceRecord } from "../services/records.js";

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
    const copies = [{ hostId: i.hostId, epoch: i.epoch }, ...(i.moveTo ? [i.moveTo] : [])];
    for (const c of copies) {
      const h = c.hostId ? hosts.get(c.hostId) : undefined;
      const o = c.hostId ? observed.get(c.hostId) : undefined;
      if (!h || h.health !== "ready" || !o || o.instance !== id || o.epoch !== c.epoch || o.state !== "healthy") continue;
      if (nowMs - o.sinceMs < minHealthy) continue;
      out.push({ instance: id, host: h.id, address: h.advertiseAddr, port, epoch: c.epoch, revision: o.revision });
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
