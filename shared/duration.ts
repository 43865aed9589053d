/** Durations as operators write them: "500ms", "5s", "2m", "1h", "1d", or a sum like "1m30s". */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export class DurationError extends Error {
  constructor(input: string) {
    super(`invalid duration "${input}": expected a number with a unit, e.g. 500ms, 5s, 2m, 1h, 1d`);
    this.name = "DurationError";
  }
}

export function parseDurationMs(input: string): number {
  const s = input.trim();
  if (s === "0") return 0;
  if (s.length === 0 || s.length > 64) throw new DurationError(input);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) throw new DurationError(input);
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  if (!Number.isFinite(total)) throw new DurationError(input);
  return Math.round(total);
}

/** parseDurationMs, or undefined where it would throw: for checks that must never throw themselves. */
export function tryParseDurationMs(input: string): number | undefined {
  try {
    return parseDurationMs(input);
  } catch (e) {
    if (e instanceof DurationError) return undefined;
    throw e;
  }
}

/** The inverse, for display: 0s, 850ms, 12s, 3m4s, 2h5m, 3d4h. */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}
