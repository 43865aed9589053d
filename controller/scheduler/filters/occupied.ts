import type { RejectReason } from "../types.js";
import type { Filter } from "./filter.js";

const OCCUPIED: RejectReason = { kind: "occupied" };

/**
 * One instance per host, across all services (DESIGN.md principle 1): a host
 * running any instance, or given one earlier in this plan, is not a candidate.
 */
export const occupiedFilter: Filter = {
  name: "occupied",
  reject: (_host, i, _req, occ) => (occ.isTaken(i) ? OCCUPIED : undefined),
};
