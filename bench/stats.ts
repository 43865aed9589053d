/** Small statistics for the bench reports (bench:agents and its group mode). */

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest rank: a value that was actually observed.
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

/** Sorted copy of `values`, for percentile(). */
export function sortedOf(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export const r1 = (n: number): number => Math.round(n * 10) / 10;
export const r2 = (n: number): number => Math.round(n * 100) / 100;
