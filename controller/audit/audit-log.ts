/**
 * The audit log: an append-only record of every mutating operator call — who
 * (token id and role), what (method and a summary of the request), when, and
 * how it ended, refusals included (DESIGN.md, "Security"). Kept in the store
 * under audit/<seq>, apart from the event log: events say what happened to the
 * fleet, the audit log says who asked for what.
 *
 * Refusals of callers nobody identified (no token, a bad one) are not written
 * one by one: anyone who can reach the port can make them, as fast as they
 * like. They are summed per source address and window (refusals.ts) and kept
 * under audit-refused/<seq>, with a cap of their own, so a flood of them can
 * never push out what identified callers did.
 */
import type { Store } from "../store/store.js";
import { SeqLog } from "../store/seq-log.js";
import { describeAggregate, REFUSAL_WINDOW_MS, RefusalAggregator, MAX_REFUSAL_SOURCES, type RefusalAggregate } from "./refusals.js";

export const AUDIT_PREFIX = "audit/";
export const REFUSED_PREFIX = "audit-refused/";
/** Oldest entries beyond this count are dropped. @default 100000 */
export const MAX_AUDIT = 100_000;
/** Aggregated refusals kept (each sums up to a minute of one source). @default 10000 */
export const MAX_REFUSED_AUDIT = 10_000;
/** How often windows that have ended are written. @default 1000 */
const FLUSH_EVERY_MS = 1000;
/** gRPC UNAUTHENTICATED: what an aggregate records as its code. */
const UNAUTHENTICATED = 16;

export interface AuditEntry {
  seq: number;
  timeMs: number;
  tokenId: string;
  role: string;
  method: string;
  /** The request, with long strings (spec files, uploads) reduced to their length. */
  request: string;
  /** gRPC status code: 0 = done. */
  code: number;
  error: string;
  peer: string;
  /** An aggregate of refusals: the calls it sums (absent: one call). */
  count?: number;
  /** With count: the time of the last call (timeMs is the first). */
  lastMs?: number;
}

export interface AuditLogOptions {
  /** @default MAX_AUDIT */
  maxEntries?: number;
  /** @default MAX_REFUSED_AUDIT */
  maxRefused?: number;
  /** @default REFUSAL_WINDOW_MS */
  windowMs?: number;
  /** @default MAX_REFUSAL_SOURCES */
  maxSources?: number;
}


/** A request as it goes into the log: bounded, secrets and bulk left out. */
export function summarize(req: unknown): string {
  const json = JSON.stringify(req, (_k, v: unknown) => {
    if (typeof v === "string" && v.length > 200) return `<${v.length} chars>`;
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<${v.length} bytes>`;
    if (v && typeof v === "object" && "type" in v && (v as { type?: unknown }).type === "Buffer") return "<bytes>";
    return v;
  });
  return (json ?? "").slice(0, 2000);
}

export function aggregateEntry(a: RefusalAggregate): Omit<AuditEntry, "seq" | "timeMs"> & { timeMs: number } {
  const methods = Object.keys(a.methods);
  return {
    timeMs: a.firstMs,
    tokenId: "",
    role: "",
    method: methods.length === 1 ? methods[0]! : "(several)",
    request: JSON.stringify({ methods: a.methods, reasons: a.reasons }).slice(0, 2000),
    code: UNAUTHENTICATED,
    error: describeAggregate(a),
    peer: a.source,
    count: a.count,
    lastMs: a.lastMs,
  };
}

export class AuditLog {
  private readonly log: SeqLog<AuditEntry>;
  private readonly refused: SeqLog<AuditEntry>;
  private readonly refusals: RefusalAggregator;
  private flusher: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    store: Store,
    private readonly now: () => number,
    o: AuditLogOptions = {},
  ) {
    this.log = new SeqLog<AuditEntry>(store, AUDIT_PREFIX, o.maxEntries ?? MAX_AUDIT, now);
    this.refused = new SeqLog<AuditEntry>(store, REFUSED_PREFIX, o.maxRefused ?? MAX_REFUSED_AUDIT, now);
    this.refusals = new RefusalAggregator({ windowMs: o.windowMs ?? REFUSAL_WINDOW_MS, maxSources: o.maxSources ?? MAX_REFUSAL_SOURCES });
  }

  async init(): Promise<void> {
    await this.log.init();
    await this.refused.init();
  }

  /** Writes ended windows every second until close(); tests may call flush() instead. */
  start(onError: (err: unknown) => void): void {
    this.flusher ??= setInterval(() => void this.flush().catch(onError), FLUSH_EVERY_MS);
    this.flusher.unref();
  }

  /** Writes every ended window (all of them with `all`), one txn. Serialised: never two at once. */
  flush(all = false): Promise<void> {
    const run = async (): Promise<void> => {
      const due = all ? this.refusals.drain() : this.refusals.due(this.now());
      if (!due.length) return;
      await this.refused.appendMany(due.map(aggregateEntry));
    };
    this.flushing = this.flushing.then(run, run);
    return this.flushing;
  }

  /** Stops the flusher and writes what is pending. */
  async close(): Promise<void> {
    clearInterval(this.flusher);
    this.flusher = undefined;
    await this.flush(true);
  }

  /**
   * Identified callers' entries are written now; an unidentified caller's
   * (tokenId "") is only counted, and written with its window.
   */
  async append(e: Omit<AuditEntry, "seq" | "timeMs">): Promise<void> {
    if (e.tokenId === "") {
      this.refusals.record(e.peer, e.error, e.method, this.now());
      return;
    }
    await this.log.append(e);
  }

  /** Both logs, merged by time: newest `limit`, oldest first. */
  async list(o: { sinceMs: number; limit: number }): Promise<AuditEntry[]> {
    const q = { limit: o.limit, stop: (e: AuditEntry) => e.timeMs < o.sinceMs };
    const [a, b] = await Promise.all([this.log.list(q), this.refused.list(q)]);
    if (!b.length) return a;
    return [...a, ...b].sort((x, y) => x.timeMs - y.timeMs).slice(-o.limit);
  }
}
