/**
 * Refusals of callers nobody could identify (no token, a malformed or unknown
 * one), aggregated: one entry per source address per window, "N refused calls
 * from ADDR (reason) between T1 and T2", instead of one per call. A flood of
 * bad tokens then costs a bounded number of entries and bounded memory, and
 * never pushes out the entries of identified callers (those are kept in a log
 * of their own, see audit-log.ts).
 *
 * Pure: the caller passes `now`, and writes what `due` returns.
 */

/** How long one source's refusals are summed before they become one entry. @default 60000 */
export const REFUSAL_WINDOW_MS = 60_000;
/** Sources tracked at once; the least recently refused one past this is folded into OTHER_SOURCES. @default 1000 */
export const MAX_REFUSAL_SOURCES = 1000;
/** Distinct reasons (or methods) kept per source; more are counted as "other". @default 8 */
export const MAX_KINDS = 8;
/** The source that sums the sources evicted from a full table. */
export const OTHER_SOURCES = "(other sources)";

export interface RefusalAggregate {
  source: string;
  count: number;
  firstMs: number;
  lastMs: number;
  /** reason → calls, at most MAX_KINDS + "other" */
  reasons: Record<string, number>;
  /** method → calls, likewise bounded */
  methods: Record<string, number>;
}

/** "ipv4:10.0.0.7:51234", "ipv6:[::1]:443", "10.0.0.7:51234" → the address without its port. */
export function sourceAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, "");
  const v6 = /^\[([^\]]*)\](?::\d+)?$/.exec(p);
  if (v6) return v6[1]!;
  const v4 = /^([^:]+):\d+$/.exec(p);
  return (v4 ? v4[1]! : p).slice(0, 64) || "(unknown)";
}

function bump(kinds: Record<string, number>, key: string, n: number): void {
  const k = key in kinds || Object.keys(kinds).length < MAX_KINDS ? key : "other";
  kinds[k] = (kinds[k] ?? 0) + n;
}

function merge(into: RefusalAggregate, from: RefusalAggregate): void {
  into.count += from.count;
  into.firstMs = Math.min(into.firstMs, from.firstMs);
  into.lastMs = Math.max(into.lastMs, from.lastMs);
  for (const [k, n] of Object.entries(from.reasons)) bump(into.reasons, k, n);
  for (const [k, n] of Object.entries(from.methods)) bump(into.methods, k, n);
}

export class RefusalAggregator {
  /** Map order is recency order: a refusal moves its source to the end. */
  private readonly sources = new Map<string, RefusalAggregate>();

  constructor(private readonly cfg: { windowMs: number; maxSources: number } = { windowMs: REFUSAL_WINDOW_MS, maxSources: MAX_REFUSAL_SOURCES }) {}

  get size(): number {
    return this.sources.size;
  }

  record(peer: string, reason: string, method: string, nowMs: number): void {
    const source = sourceAddress(peer);
    const one: RefusalAggregate = { source, count: 1, firstMs: nowMs, lastMs: nowMs, reasons: { [reason.slice(0, 200)]: 1 }, methods: { [method.slice(0, 64)]: 1 } };
    const cur = this.sources.get(source);
    if (cur) {
      this.sources.delete(source);
      merge(cur, one);
      this.sources.set(source, cur);
      return;
    }
    // Full: the least recently refused source (never the overflow bucket itself)
    // is folded into the overflow bucket, so its calls are still counted.
    if (this.sources.size >= this.cfg.maxSources) {
      let victim: string | undefined;
      for (const k of this.sources.keys()) {
        if (k === OTHER_SOURCES) continue;
        victim = k;
        break;
      }
      if (victim !== undefined) {
        const v = this.sources.get(victim)!;
        this.sources.delete(victim);
        const other = this.sources.get(OTHER_SOURCES);
        if (other) merge(other, { ...v, source: OTHER_SOURCES });
        else this.sources.set(OTHER_SOURCES, { ...v, source: OTHER_SOURCES });
      }
    }
    this.sources.set(source, one);
  }

  /** The aggregates whose window (from their first refusal) has ended, removed from the table. */
  due(nowMs: number): RefusalAggregate[] {
    const out: RefusalAggregate[] = [];
    for (const [k, a] of this.sources) {
      if (nowMs - a.firstMs >= this.cfg.windowMs) {
        out.push(a);
        this.sources.delete(k);
      }
    }
    return out;
  }

  /** Everything, due or not: at shutdown. */
  drain(): RefusalAggregate[] {
    const out = [...this.sources.values()];
    this.sources.clear();
    return out;
  }
}

/** "20000 refused calls from 10.0.0.7 (unknown token) between T1 and T2", times in ISO UTC. */
export function describeAggregate(a: RefusalAggregate): string {
  const reasons = Object.entries(a.reasons)
    .sort((x, y) => y[1] - x[1])
    .map(([r, n]) => (Object.keys(a.reasons).length > 1 ? `${r} ×${n}` : r))
    .join("; ");
  const iso = (ms: number): string => new Date(ms).toISOString();
  const calls = a.count === 1 ? "1 refused call" : `${a.count} refused calls`;
  return `${calls} from ${a.source} (${reasons}) between ${iso(a.firstMs)} and ${iso(a.lastMs)}`;
}
