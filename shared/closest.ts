/**
 * "Did you mean": the closest known name to one that was not found, for
 * services, hosts and spec fields alike. Names here are short; a plain
 * Levenshtein distance is fast enough and easy to reason about.
 */

/** Levenshtein distance: insertions, deletions and substitutions, each 1. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** Longer queries get no suggestion (host ids, hostnames and service names are all shorter). */
export const MAX_QUERY = 256;

/**
 * The candidate nearest to `query`, if it is near enough to be a plausible
 * typo: within `maxDistance` edits (default: 2, or a third of the query's
 * length for longer names). Ties go to the first candidate given.
 */
export function closest(query: string, candidates: Iterable<string>, maxDistance: number = Math.max(2, Math.floor(query.length / 3))): string | undefined {
  // Names are short: a long query is no typo of one, and its O(n·m) distance to
  // every candidate would let one request hold the controller's event loop.
  if (query.length > MAX_QUERY) return undefined;
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    if (Math.abs(name.length - query.length) > maxDistance) continue;
    const d = editDistance(name, query);
    if (d <= maxDistance && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}
