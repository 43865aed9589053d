/**
 * The ranker: among hosts every filter lets through, which comes first.
 *
 * Weights, as a score (higher is better):
 *   score = 100 · spread + 10 · artifact + 1 · tightness
 *     spread    = −(instances of the service in the host's spread value), an integer ≤ 0
 *     artifact  = 1 if the host holds the artifact, else 0
 *     tightness = 1 − unused share of the host, in [0, 1] (scorers/tightness.ts)
 *   ties: the ring distance of hash.ts, then the host id (so no two hosts ever tie).
 *
 * The weights are chosen so that each rule strictly dominates the next: one
 * instance of spread (100) outweighs artifact and tightness together (≤ 11),
 * the artifact (10) outweighs any tightness (≤ 1). That makes the score the
 * same order as comparing the components one after the other, which is what
 * `compareRank` does: exactly, without a sum of floats that could tie or round.
 * Why dominance rather than a blend: with one service per host, a failure
 * domain lost is worse than any download, and a download costs more than a big
 * host spent on a small service; a blend would trade these off at a rate
 * nobody could predict from the spec.
 */
export interface Rank {
  /** Instances of the service already in the host's spread value (lower is better). */
  readonly count: number;
  readonly artifact: 0 | 1;
  /** scorers/tightness.ts `sizeKey` (lower is better: same order as tightness, reversed). */
  readonly size: number;
  /** hash.ts `ringDistance` (lower is better). */
  readonly dist: number;
  readonly hostId: string;
}

export const WEIGHTS = { spread: 100, artifact: 10, tightness: 1 } as const;

/** Negative when a ranks before b. */
export function compareRank(a: Rank, b: Rank): number {
  if (a.count !== b.count) return a.count - b.count;
  if (a.artifact !== b.artifact) return b.artifact - a.artifact;
  if (a.size !== b.size) return a.size < b.size ? -1 : 1;
  if (a.dist !== b.dist) return a.dist - b.dist;
  return a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0;
}

/** The weighted score of the comment above, for explanations; `needSize` is the slot's sizeKey. */
export function weightedScore(r: Rank, needSize: number): number {
  const tightness = 1 - (r.size - needSize);
  return WEIGHTS.spread * -r.count + WEIGHTS.artifact * r.artifact + WEIGHTS.tightness * tightness;
}
