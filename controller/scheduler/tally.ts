/**
 * Gathers, for a slot that found no host, why each host passed it over.
 * One pass over the fleet per distinct question; schedule.ts caches answers
 * for slots that ask the same one (same constraints, resources, avoidHosts).
 */
import { FILTERS, firstRejection } from "./filters/chain.js";
import type { Rejections, RejectionCount } from "./explain.js";
import type { Fleet } from "./fleet.js";
import { labelOf } from "./labels.js";
import type { Occupancy } from "./occupancy.js";
import type { SlotRequest } from "./request.js";
import type { RejectReason } from "./types.js";

export function tallyRejections(fleet: Fleet, req: SlotRequest, occ: Occupancy): Rejections {
  // Reasons are shared objects (filters preallocate them), so identity is a fine key.
  const counts = new Map<RejectReason, number>();
  const rules = req.svc.rules;
  // A rule needs one host that satisfies it to be "matched"; most find it among the first hosts.
  const open = new Set(rules);
  for (let i = 0; i < fleet.length; i++) {
    const host = fleet.host(i);
    const r = firstRejection(FILTERS, host, i, req, occ);
    if (r !== undefined) counts.set(r, (counts.get(r) ?? 0) + 1);
    if (open.size === 0) continue;
    for (const rule of open) {
      const v = labelOf(host, rule.label);
      if (v !== undefined && rule.allowed.has(v)) open.delete(rule);
    }
  }
  const list: RejectionCount[] = [...counts].map(([reason, count]) => ({ reason, count }));
  const unmatched = rules.filter((r) => open.has(r)).map((r) => ({ label: r.label, allowed: r.reason.allowed }));
  return { counts: list, unmatched };
}

/** Slots that would get the same tally share it: same rules, same needs, same avoidHosts. */
export function tallyKey(req: SlotRequest): string {
  const needs = req.svc.needs.map((n) => `${n.resource}=${n.need}`).join(",");
  return `${req.svc.signature}|${needs}|${[...req.avoid].sort().join(",")}`;
}
