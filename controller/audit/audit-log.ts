/**
 * The audit log: an append-only record of every mutating operator call — who
 * (token id and role), what (method and a summary of the request), when, and
 * how it ended, refusals included (DESIGN.md, "Security"). Kept in the store
 * under audit/<seq>, apart from the event log: events say what happened to the
 * fleet, the audit log says who asked for what.
 */
import type { Store } from "../store/store.js";
import { SeqLog } from "../store/seq-log.js";

export const AUDIT_PREFIX = "audit/";
/** Oldest entries beyond this count are dropped. @default 100000 */
export const MAX_AUDIT = 100_000;

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

export class AuditLog {
  private readonly log: SeqLog<AuditEntry>;

  constructor(store: Store, now: () => number) {
    this.log = new SeqLog<AuditEntry>(store, AUDIT_PREFIX, MAX_AUDIT, now);
  }

  init(): Promise<void> {
    return this.log.init();
  }

  async append(e: Omit<AuditEntry, "seq" | "timeMs">): Promise<void> {
    await this.log.append(e);
  }

  list(o: { sinceMs: number; limit: number }): Promise<AuditEntry[]> {
    return this.log.list({ limit: o.limit, stop: (e) => e.timeMs < o.sinceMs });
  }
}
