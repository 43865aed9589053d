/**
 * The audit log: an append-only record of every mutating operator call — who
 * (token id and role), what (method and a summary of the request), when, and
 * how it ended, refusals included (DESIGN.md, "Security"). Kept in the store
 * under audit/<seq>, apart from the event log: events say what happened to the
 * fleet, the audit log says who asked for what.
 */
import type { Store } from "../store/store.js";

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

const key = (seq: number): string => `${AUDIT_PREFIX}${seq.toString().padStart(16, "0")}`;

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
  private nextSeq = 1;
  private appended = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async init(): Promise<void> {
    const last = await this.store.scan(AUDIT_PREFIX, { limit: 1, reverse: true });
    this.nextSeq = (last[0] ? (JSON.parse(last[0].value) as AuditEntry).seq : 0) + 1;
  }

  async append(e: Omit<AuditEntry, "seq" | "timeMs">): Promise<void> {
    const entry: AuditEntry = { seq: this.nextSeq++, timeMs: this.now(), ...e };
    await this.store.put(key(entry.seq), JSON.stringify(entry));
    if (++this.appended % 1000 === 0) {
      const all = await this.store.scan(AUDIT_PREFIX, { reverse: true });
      const old = all.slice(MAX_AUDIT);
      if (old.length) await this.store.txn([], old.map((kv) => ({ type: "delete", key: kv.key }) as const));
    }
  }

  async list(o: { sinceMs: number; limit: number }): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    for (const kv of await this.store.scan(AUDIT_PREFIX, { reverse: true })) {
      const e = JSON.parse(kv.value) as AuditEntry;
      if (e.timeMs < o.sinceMs) break;
      out.push(e);
      if (out.length >= o.limit) break;
    }
    return out.reverse();
  }
}
