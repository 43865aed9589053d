import type { RejectReason } from "../types.js";
import type { Filter } from "./filter.js";

const AVOIDED: RejectReason = { kind: "avoided" };

/** Hosts where this slot failed for good are never candidates for it again. */
export const avoidFilter: Filter = {
  name: "avoid",
  reject: (host, _i, req) => (req.avoid.size > 0 && req.avoid.has(host.id) ? AVOIDED : undefined),
};
