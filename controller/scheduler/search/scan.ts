/**
 * Every host, every rule: O(hosts) per slot, with nothing to build first.
 * For the reconcile loop's usual question (one lost instance) this beats
 * building indexes over a 10,000-host fleet.
 */
import { SEARCH_ORDER, firstRejection } from "../filters/chain.js";
import type { Fleet } from "../fleet.js";
import { hostPoint, ringDistance } from "../hash.js";
import type { Occupancy } from "../occupancy.js";
import { compareRank, type Rank } from "../rank.js";
import type { SlotRequest } from "../request.js";
import { artifactScore } from "../scorers/artifact.js";
import { spreadValue, type SpreadCounts } from "../scorers/spread.js";
import { sizeKey } from "../scorers/tightness.js";
import { bestPenalized, isPenalized } from "./penalized.js";
import type { HostSearch } from "./search.js";

export class ScanSearch implements HostSearch {
  constructor(
    private readonly fleet: Fleet,
    private readonly occ: Occupancy,
  ) {}

  best(req: SlotRequest, counts: SpreadCounts): number {
    const { fleet, occ } = this;
    const digest = req.svc.service.artifactDigest;
    let best = -1;
    let bestRank: Rank | undefined;
    for (let i = 0; i < fleet.length; i++) {
      const host = fleet.host(i);
      if (firstRejection(SEARCH_ORDER, host, i, req, occ) !== undefined || isPenalized(fleet, i, req)) continue;
      const count = counts.count(spreadValue(host, counts.key));
      // Cheap components first: most hosts lose on spread or size before the ring point is hashed.
      if (bestRank !== undefined && count > bestRank.count) continue;
      const artifact = artifactScore(host, digest);
      // Uncached (fleet.size would allocate a cache for all hosts): most hosts never get this far.
      const size = sizeKey(host.capacity, fleet.max);
      if (bestRank !== undefined && count === bestRank.count && (artifact < bestRank.artifact || (artifact === bestRank.artifact && size > bestRank.size))) continue;
      const rank: Rank = { count, artifact, size, dist: ringDistance(hostPoint(host.id), req.point), hostId: host.id };
      if (bestRank === undefined || compareRank(rank, bestRank) < 0) {
        best = i;
        bestRank = rank;
      }
    }
    return best >= 0 || req.penalty.size === 0 ? best : bestPenalized(fleet, occ, req, counts);
  }
}
