import type { RejectReason } from "../types.js";
import type { Filter } from "./filter.js";

const AVOIDED: RejectReason = { kind: "avoided" };

/**
 * Hosts the slot must not use (the reconciler lists a draining host): a hard
 * rule. Where a slot failed is not one: that is a penalty (scorers/penalty.ts),
 * so that failures on every host delay a slot but never strand it.
 */
export const avoidFilter: Filter = {
  name: "avoid",
  reject: (host, _i, req) => (req.avoid.size > 0 && req.avoid.has(host.id) ? AVOIDED : undefined),
};
