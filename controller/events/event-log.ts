/**
 * The event log: an append-only list of what happened to the fleet, kept in the
 * store under `events/<seq>` so it survives restarts and `berth events -f` can
 * follow it with a store watch. Events are written in the same txn as the state
 * change they describe, so the log never claims a change that did not happen.
 */
import type { Op, Store } from "../store/store.js";

export const EVENT_PREFIX = "events/";
/** Older events are pruned past this count. @default 10000 */
export const MAX_EVENTS = 10_000;

export interface EventRecord {
  seq: number;
  timeMs: number;
  type: string;
  host: string;
  service: string;
  message: string;
  actor: string;
}

export type NewEvent = Pick<EventRecord, "type" | "message"> & Partial<Pick<EventRecord, "host" | "service" | "actor">>;

export const eventKey = (seq: number): string => `${EVENT_PREFIX}${seq.toString().padStart(16, "0")}`;

export class EventLog {
  private nextSeq = 1;
  private appended = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async init(): Promise<void> {
    const last = await this.store.scan(EVENT_PREFIX, { limit: 1, reverse: true });
    const rec = last[0] ? (JSON.parse(last[0].value) as EventRecord) : undefined;
    this.nextSeq = (rec?.seq ?? 0) + 1;
    await this.prune();
  }

  /**
   * An op that appends the event, to put in the caller's txn. The seq is taken
   * now; if the txn fails the seq is skipped, which readers tolerate (seqs grow,
   * they need not be dense).
   */
  op(ev: NewEvent): { op: Op; record: EventRecord } {
    const record: EventRecord = {
      seq: this.nextSeq++,
      timeMs: this.now(),
      type: ev.type,
      host: ev.host ?? "",
      service: ev.service ?? "",
      message: ev.message,
      actor: ev.actor ?? "",
    };
    this.appended++;
    if (this.appended % 1000 === 0) void this.prune().catch(() => undefined);
    return { op: { type: "put", key: eventKey(record.seq), value: JSON.stringify(record) }, record };
  }

  async append(ev: NewEvent): Promise<EventRecord> {
    const { op, record } = this.op(ev);
    await this.store.txn([], [op]);
    return record;
  }

  async list(opts: { limit: number; host?: string; service?: string }): Promise<EventRecord[]> {
    // Filtering needs a scan of everything kept; MAX_EVENTS bounds it.
    const all = await this.store.scan(EVENT_PREFIX, { reverse: true });
    const out: EventRecord[] = [];
    for (const kv of all) {
      const e = JSON.parse(kv.value) as EventRecord;
      if (matches(e, opts)) out.push(e);
      if (out.length >= opts.limit) break;
    }
    return out.reverse();
  }

  private async prune(): Promise<void> {
    const keys = await this.store.scan(EVENT_PREFIX, { reverse: true });
    const old = keys.slice(MAX_EVENTS);
    if (old.length) await this.store.txn([], old.map((kv) => ({ type: "delete", key: kv.key }) as const));
  }
}

export function matches(e: EventRecord, f: { host?: string; service?: string }): boolean {
  return (!f.host || e.host === f.host) && (!f.service || e.service === f.service);
}
