import type { RejectReason } from "../types.js";
import type { Filter } from "./filter.js";

const NOT_READY: RejectReason = { kind: "not-ready" };

/** A host that is down or still joining gets no new instance (it keeps the one it has: schedule.ts). */
export const readyFilter: Filter = {
  name: "ready",
  reject: (host) => (host.ready ? undefined : NOT_READY),
};
