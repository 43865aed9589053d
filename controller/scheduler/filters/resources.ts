import type { Filter } from "./filter.js";

/**
 * Capacity ≥ requested for cpu, memoryMb and diskMb. A host runs one service,
 * so its whole capacity is the service's: nothing is subtracted. Resources not
 * asked for (0) are not checked at all, so they fit any host.
 */
export const resourcesFilter: Filter = {
  name: "resources",
  reject(host, _i, req) {
    for (const n of req.svc.needs) {
      // `!(a >= b)` and not `a < b`: a NaN capacity must fail, not pass.
      if (!(host.capacity[n.resource] >= n.need)) return n.reason;
    }
    return undefined;
  },
};
