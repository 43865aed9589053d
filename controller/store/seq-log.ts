/**
 * An append-only log in the store: entries under `<prefix><seq>` with a
 * zero-padded, growing sequence number, the oldest dropped past a count. The
 * event log and the audit log are both this.
 *
 * Several writers (the members of a controller group) append to one log, so a
 * seq is taken by compare-and-set on a counter key, `counters/<prefix>`, in the
 * same txn as the entries: two members can never write the same seq, and seqs
 * grow in commit order, so a follower that has seen seq n has seen every entry
 * below it (`berth events -f` drops what is not above the last it showed). A
 * member that finds the counter moved (another member appended) re-reads it and
 * tries again. Within a member, appends run one at a time, so they never race
 * each other for the counter. A seq taken for a txn that then fails is never
 * written; readers tolerate gaps (seqs grow, they need not be dense).
 */
import type { Compare, Op, Store, TxnResult } from "./store.js";

/** Counter compare-and-set lost this many times in a row: the store is far busier than a controller makes it. */
const MAX_ATTEMPTS = 20;

export class SeqLogBusyError extends Error {
  constructor(prefix: string) {
    super(`appending to ${prefix} lost the race for its counter ${MAX_ATTEMPTS} times in a row`);
    this.name = "SeqLogBusyError";
  }
}

type Fields<T> = Omit<T, "seq" | "timeMs">;

export class SeqLog<T extends { seq: number; timeMs: number }> {
  /** The last seq taken, and the counter key's modRevision when it was (0: the key does not exist yet). */
  private counter = { seq: 0, modRevision: 0 };
  private appended = 0;
  private queue: Promise<unknown> = Promise.resolve();
  readonly counterKey: string;

  constructor(
    private readonly store: Store,
    readonly prefix: string,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {
    this.counterKey = `counters/${prefix}`;
  }

  key(seq: number): string {
    return `${this.prefix}${seq.toString().padStart(16, "0")}`;
  }

  async init(): Promise<void> {
    await this.readCounter();
    await this.prune();
  }

  /**
   * The counter as stored. A store written before the counter existed has only
   * entries: the last one's seq is where it starts.
   */
  private async readCounter(): Promise<void> {
    const [kv, last] = await Promise.all([this.store.get(this.counterKey), this.store.scan(this.prefix, { limit: 1, reverse: true })]);
    const stored = kv ? Number(kv.value) : 0;
    const lastSeq = last[0] ? (JSON.parse(last[0].value) as T).seq : 0;
    this.counter = { seq: Math.max(Number.isSafeInteger(stored) ? stored : 0, lastSeq), modRevision: kv?.modRevision ?? 0 };
  }

  /**
   * Commits `compares`/`ops` with `entries` appended, atomically. Entries may carry
   * their own timeMs (when what they record began). When only the counter's
   * compare failed, the counter is re-read and the txn tried again; when one of
   * the caller's compares failed, its result is returned as it is (nothing written).
   */
  txn(compares: Compare[], ops: Op[], entries: (Fields<T> & { timeMs?: number })[], via?: Store): Promise<{ res: TxnResult; records: T[] }> {
    const run = this.queue.then(() => this.txnNow(compares, ops, entries, via ?? this.store));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async txnNow(compares: Compare[], ops: Op[], entries: (Fields<T> & { timeMs?: number })[], via: Store): Promise<{ res: TxnResult; records: T[] }> {
    if (!entries.length) return { res: await via.txn(compares, ops), records: [] };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const base = this.counter.seq;
      const records = entries.map(({ timeMs, ...fields }, i) => ({ ...fields, seq: base + 1 + i, timeMs: timeMs ?? this.now() }) as unknown as T);
      const last = base + records.length;
      const res = await via.txn(
        [...compares, { key: this.counterKey, modRevision: this.counter.modRevision }],
        [...ops, ...records.map((r) => ({ type: "put", key: this.key(r.seq), value: JSON.stringify(r) }) as const), { type: "put", key: this.counterKey, value: String(last) }],
      );
      if (res.succeeded) {
        this.counter = { seq: last, modRevision: res.revision };
        // Pruning costs a scan: every thousand appends, off the caller's path.
        this.appended += records.length;
        if (this.appended >= 1000) {
          this.appended = 0;
          void this.prune().catch(() => undefined);
        }
        return { res, records };
      }
      const counterLost = res.failed.includes(this.counterKey);
      if (counterLost) await this.readCounter();
      if (!counterLost || res.failed.length > 1) return { res: { ...res, failed: res.failed.filter((k) => k !== this.counterKey) }, records: [] };
    }
    throw new SeqLogBusyError(this.prefix);
  }

  async append(fields: Fields<T>): Promise<T> {
    const { records } = await this.txn([], [], [fields]);
    return records[0]!;
  }

  /** Appends several in one txn; an entry may carry its own timeMs (when what it records began). */
  async appendMany(entries: (Fields<T> & { timeMs?: number })[]): Promise<void> {
    if (entries.length) await this.txn([], [], entries);
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
