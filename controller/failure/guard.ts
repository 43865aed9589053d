/**
 * The mass-failure guard, pure. When many hosts go down within one TTL, the
 * likelier story is that the controller is cut off from them, not that they all
 * died; replacing their instances would stampede onto the few hosts left (and,
 * when they come back, run two copies). So failover pauses until hosts come
 * back or an operator says `berth failover resume`.
 *
 * Worked example (share 0.5, TTL 5s): 6 hosts ready; at 10:00:03 and 10:00:04
 * two go down, at 10:00:06 a third: 3 of the 6 that were ready at the start of
 * the window (10:00:01) went down within 5 s → 3/6 ≥ 0.5 → pause.
 */
export interface GuardConfig {
  /** Share of the ready hosts whose loss within one TTL pauses failover. @default 0.5 */
  share: number;
  ttlMs: number;
  /** Below this many hosts the guard stays off: losing 1 of 2 is a real loss. @default 3 */
  minHosts: number;
}

export const DEFAULT_GUARD_SHARE = 0.5;

export interface GuardInput {
  /** When each host that is now down went down (controller clock). */
  downSinceMs: readonly number[];
  /** Hosts known and not cordoned: the base the share is taken of. */
  hosts: number;
  paused: boolean;
  nowMs: number;
}

export type GuardVerdict = { paused: false } | { paused: true; reason: string };

export function judgeGuard(g: GuardInput, cfg: GuardConfig): GuardVerdict {
  if (cfg.share >= 1 || g.hosts < cfg.minHosts) return { paused: false };
  const down = g.downSinceMs.length;
  if (g.paused) {
    // Stay paused while the outage is as wide as what paused it; resume when hosts are back.
    return down / g.hosts >= cfg.share ? { paused: true, reason: `${down} of ${g.hosts} hosts are down` } : { paused: false };
  }
  const recent = g.downSinceMs.filter((t) => g.nowMs - t <= cfg.ttlMs).length;
  // The base is the hosts that were up at the start of the window: those down now minus the recent ones, subtracted from all.
  const readyBefore = g.hosts - (down - recent);
  if (readyBefore > 0 && recent / readyBefore >= cfg.share && recent >= 2) {
    return { paused: true, reason: `${recent} of ${readyBefore} ready hosts went down within ${cfg.ttlMs / 1000}s: is the controller cut off?` };
  }
  return { paused: false };
}
