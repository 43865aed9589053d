/**
 * The penalized hosts of a slot (scorers/penalty.ts), searched last and one by
 * one: both searches first look for the best host among the others, and only
 * when there is none come here. A slot has a handful of them at most.
 */
import { SEARCH_ORDER, firstRejection } from "../filters/chain.js";
import type { Fleet } from "../fleet.js";
import { hostPoint, ringDistance } from "../hash.js";
import type { Occupancy } from "../occupancy.js";
import { compareRank, type Rank } from "../rank.js";
import type { SlotRequest } from "../request.js";
import { artifactScore } from "../scorers/artifact.js";
import { comparePenalty, type Penalty } from "../scorers/penalty.js";
import { spreadValue, type SpreadCounts } from "../scorers/spread.js";
import { sizeKey } from "../scorers/tightness.js";

/** Is host i one the slot failed on recently? */
export function isPenalized(fleet: Fleet, i: number, req: SlotRequest): boolean {
  return req.penalty.size > 0 && req.penalty.has(fleet.host(i).id);
}

/** The best feasible penalized host for the slot (fewest, oldest failures, then the usual rank), or -1. */
export function bestPenalized(fleet: Fleet, occ: Occupancy, req: SlotRequest, counts: SpreadCounts): number {
  let best = -1;
  let bestPenalty: Penalty | undefined;
  let bestRank: Rank | undefined;
  for (const [hostId, penalty] of req.penalty) {
    const i = fleet.indexOf(hostId);
    if (i < 0) continue;
    const host = fleet.host(i);
    if (firstRejection(SEARCH_ORDER, host, i, req, occ) !== undefined) continue;
    const rank: Rank = {
      count: counts.count(spreadValue(host, counts.key)),
      artifact: artifactScore(host, req.svc.service.artifactDigest),
      size: sizeKey(host.capacity, fleet.max),
      dist: ringDistance(hostPoint(host.id), req.point),
      hostId: host.id,
    };
    const c = bestPenalty === undefined ? -1 : comparePenalty(penalty, bestPenalty) || compareRank(rank, bestRank!);
    if (c < 0) {
      best = i;
      bestPenalty = penalty;
      bestRank = rank;
    }
  }
  return best;
}
