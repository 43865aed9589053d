/**
 * What the filters and scorers need to know about the slot being placed,
 * prepared once per service (constraints, resources, with their rejection
 * reasons allocated once rather than per host) and once per slot.
 */
import { slotPoint } from "./hash.js";
import { penaltyMap, type Penalty } from "./scorers/penalty.js";
import { sizeKey, type Resources } from "./scorers/tightness.js";
import type { RejectReason, SchedService } from "./types.js";

export interface ConstraintRule {
  readonly label: string;
  readonly allowed: ReadonlySet<string>;
  readonly reason: Extract<RejectReason, { kind: "constraint" }>;
}

export interface ResourceNeed {
  readonly resource: "cpu" | "memoryMb" | "diskMb";
  readonly need: number;
  readonly reason: Extract<RejectReason, { kind: "resources" }>;
}

export interface ServiceRequest {
  readonly service: SchedService;
  /** Sorted by label, so that a host failing two is always reported under the same one. */
  readonly rules: readonly ConstraintRule[];
  /** Only the resources asked for (> 0): a requirement of 0 always fits. */
  readonly needs: readonly ResourceNeed[];
  /** Equal for services whose constraints admit exactly the same hosts; keys index lists. */
  readonly signature: string;
}

export interface SlotRequest {
  readonly svc: ServiceRequest;
  readonly slot: number;
  readonly avoid: ReadonlySet<string>;
  /** Hosts where the slot failed recently (scorers/penalty.ts): tried only when no other host can take it. */
  readonly penalty: ReadonlyMap<string, Penalty>;
  /** The slot's position on the tie-break ring (hash.ts). */
  readonly point: number;
}

const RESOURCE_KINDS = ["cpu", "memoryMb", "diskMb"] as const;

export function serviceRequest(service: SchedService): ServiceRequest {
  const labels = Object.keys(service.constraints).sort();
  const rules: ConstraintRule[] = labels.map((label) => {
    const allowed = [...new Set(service.constraints[label] ?? [])].sort();
    return { label, allowed: new Set(allowed), reason: { kind: "constraint", label, allowed } };
  });
  const needs: ResourceNeed[] = [];
  for (const resource of RESOURCE_KINDS) {
    const need = service.resources[resource];
    if (need > 0) needs.push({ resource, need, reason: { kind: "resources", resource, need } });
  }
  // Root is part of the signature: the indexed search groups hosts by it (search/indexed.ts).
  const signature = JSON.stringify([service.root === true, rules.map((r) => [r.label, r.reason.allowed])]);
  return { service, rules, needs, signature };
}

const NO_HOSTS: ReadonlySet<string> = new Set();

export function slotRequest(svc: ServiceRequest, slot: number, avoidHosts: readonly string[], recentFailures?: readonly { readonly hostId: string; readonly atMs: number }[]): SlotRequest {
  return {
    svc,
    slot,
    avoid: avoidHosts.length === 0 ? NO_HOSTS : new Set(avoidHosts),
    penalty: penaltyMap(recentFailures),
    point: slotPoint(svc.service.name, slot),
  };
}

/** The size a host must at least have to fit (see scorers/tightness.ts): a search bound. */
export function needSize(svc: ServiceRequest, fleetMax: Resources): number {
  return sizeKey(svc.service.resources, fleetMax);
}
