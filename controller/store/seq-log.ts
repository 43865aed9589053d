/**
 * An append-only log in the store: entries under `<prefix><seq>` with a
 * zero-padded, growing sequence number, the oldest dropped past a count. The
 * event log and the audit log are both this. A seq taken for a txn that then
 * fails is skipped; readers tolerate gaps (seqs grow, they need not be dense).
 */
import type { Op, Store } from "./store.js";

export class SeqLog<T extends { seq: number; timeMs: number }> {
  private nextSeq = 1;
  private appended = 0;

  constructor(
    private readonly store: Store,
    readonly prefix: string,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  key(seq: number): string {
    return `${this.prefix}${seq.toString().padStart(16, "0")}`;
  }

  async init(): Promise<void> {
    const last = await this.store.scan(this.prefix, { limit: 1, reverse: true });
    this.nextSeq = (last[0] ? (JSON.parse(last[0].value) as T).seq : 0) + 1;
    await this.prune();
  }

  /** An op that appends the entry, for the caller's own txn. */
  op(fields: Omit<T, "seq" | "timeMs">): { op: Op; record: T } {
    const record = { seq: this.nextSeq++, timeMs: this.now(), ...fields } as T;
    // Pruning costs a scan: every thousand appends, off the caller's path.
    if (++this.appended % 1000 === 0) void this.prune().catch(() => undefined);
    return { op: { type: "put", key: this.key(record.seq), value: JSON.stringify(record) }, record };
  }

  async append(fields: Omit<T, "seq" | "timeMs">): Promise<T> {
    const { op, record } = this.op(fields);
    await this.store.txn([], [op]);
    return record;
  }

  /** Appends several in one txn; an entry may carry its own timeMs (when what it records began). */
  async appendMany(entries: (Omit<T, "seq" | "timeMs"> & { timeMs?: number })[]): Promise<void> {
    const ops = entries.map(({ timeMs, ...fields }) => {
      const { op, record } = this.op(fields as Omit<T, "seq" | "timeMs">);
      return timeMs === undefined ? op : { ...op, value: JSON.stringify({ ...record, timeMs }) };
    });
    if (ops.length) await this.store.txn([], ops);
  }

  /** Newest first until `limit` match or `stop` says the rest are too old; returned oldest first. */
  async list(o: { limit: number; match?: (e: T) => boolean; stop?: (e: T) => boolean }): Promise<T[]> {
    const out: T[] = [];
    for (const kv of await this.store.scan(this.prefix, { reverse: true })) {
      const e = JSON.parse(kv.value) as T;
      if (o.stop?.(e)) break;
      if (!o.match || o.match(e)) out.push(e);
      if (out.length >= o.limit) break;
    }
    return out.reverse();
  }

  private async prune(): Promise<void> {
    const old = (await this.store.scan(this.prefix, { reverse: true })).slice(this.maxEntries);
    if (old.length) await this.store.txn([], old.map((kv) => ({ type: "delete", key: kv.key }) as const));
  }
}
