import type { RejectReason } from "../types.js";
import type { Filter } from "./filter.js";

const CORDONED: RejectReason = { kind: "cordoned" };

/** Cordoned: keeps its instance, gets no new one (DESIGN.md, host lifecycle). */
export const cordonedFilter: Filter = {
  name: "cordoned",
  reject: (host) => (host.cordoned ? CORDONED : undefined),
};
