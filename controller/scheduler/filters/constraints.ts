import { labelOf } from "../labels.js";
import type { Filter } from "./filter.js";

/**
 * Every constraint label must be present on the host with one of the allowed
 * values; a missing label fails (a host that does not say it is in dc1 is not).
 * Reports the first failing label in sorted order, so counts add up per label.
 */
export const constraintsFilter: Filter = {
  name: "constraints",
  reject(host, _i, req) {
    for (const rule of req.svc.rules) {
      const value = labelOf(host, rule.label);
      if (value === undefined || !rule.allowed.has(value)) return rule.reason;
    }
    return undefined;
  },
};
