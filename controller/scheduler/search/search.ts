/**
 * Finds the best host for a slot: the one `compareRank` puts first among the
 * hosts every filter lets through. Two implementations give the same answer
 * (a property test holds them to it): a scan of every host, cheapest for a
 * handful of slots, and indexes that pay off when thousands are placed.
 */
import type { SpreadCounts } from "../scorers/spread.js";
import type { SlotRequest } from "../request.js";

export interface HostSearch {
  /** Index of the best host for `req`, or -1 if no host can take it now. */
  best(req: SlotRequest, counts: SpreadCounts): number;
}
