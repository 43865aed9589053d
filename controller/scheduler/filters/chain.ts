/**
 * The order the hard rules are applied in, and the order a passed-over host is
 * reported under: each host counts once, for the first rule it fails.
 *
 * Host-side facts come first (ready, cordoned), then what the host could never
 * run (root where it is not allowed, constraints, resources), then the slot's own history (avoid), and
 * occupancy last. So "3 are occupied" in a message means exactly: 3 hosts would
 * take this slot if they were spare — the number an operator acts on.
 */
import type { Occupancy } from "../occupancy.js";
import type { SlotRequest } from "../request.js";
import type { RejectReason, SchedHost } from "../types.js";
import { avoidFilter } from "./avoid.js";
import { constraintsFilter } from "./constraints.js";
import { cordonedFilter } from "./cordoned.js";
import type { Filter } from "./filter.js";
import { occupiedFilter } from "./occupied.js";
import { readyFilter } from "./ready.js";
import { resourcesFilter } from "./resources.js";
import { rootFilter } from "./root.js";

export const FILTERS: readonly Filter[] = [
  readyFilter,
  cordonedFilter,
  rootFilter,
  constraintsFilter,
  resourcesFilter,
  avoidFilter,
  occupiedFilter,
];

/**
 * The same rules, cheapest and most selective first, for searching: in a busy
 * fleet most hosts are occupied, and that is one array read. Only the order of
 * evaluation differs, so the set of feasible hosts is the same.
 */
export const SEARCH_ORDER: readonly Filter[] = [
  occupiedFilter,
  readyFilter,
  cordonedFilter,
  rootFilter,
  resourcesFilter,
  constraintsFilter,
  avoidFilter,
];

/**
 * "Does the instance's current host still fit it?": the rules that the spec or
 * the slot's history can break. Not ready, cordoned and occupied (by itself)
 * do not make a running instance move.
 */
export const STILL_FITS: readonly Filter[] = [rootFilter, constraintsFilter, resourcesFilter, avoidFilter];

/** The first rule in `chain` that passes `host` over, or undefined if all let it. */
export function firstRejection(
  chain: readonly Filter[],
  host: SchedHost,
  i: number,
  req: SlotRequest,
  occ: Occupancy,
): RejectReason | undefined {
  for (const f of chain) {
    const r = f.reject(host, i, req, occ);
    if (r !== undefined) return r;
  }
  return undefined;
}
