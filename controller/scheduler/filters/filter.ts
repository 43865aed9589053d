/**
 * A hard rule: can this host take this slot now? Each rule lives in its own
 * file and answers with the reason it passes a host over (Nomad's
 * `FilterNode(node, reason)`), so `berth plan` can say why a slot found no host.
 */
import type { Occupancy } from "../occupancy.js";
import type { SlotRequest } from "../request.js";
import type { RejectReason, SchedHost } from "../types.js";

export interface Filter {
  readonly name: string;
  /** Why `host` (index `i` in the fleet) cannot take `req` now, or undefined if this rule lets it. */
  reject(host: SchedHost, i: number, req: SlotRequest, occ: Occupancy): RejectReason | undefined;
}
