/**
 * The event log: an append-only list of what happened to the fleet, kept in the
 * store under `events/<seq>` so it survives restarts and `berth events -f` can
 * follow it with a store watch. Events are written in the same txn as the state
 * change they describe, so the log never claims a change that did not happen.
 * Every member of a controller group appends; their seqs never collide.
 */
import type { Compare, Op, Store, TxnResult } from "../store/store.js";
import { SeqLog } from "../store/seq-log.js";

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

export class EventLog {
  private readonly log: SeqLog<EventRecord>;

  constructor(store: Store, now: () => number) {
    this.log = new SeqLog<EventRecord>(store, EVENT_PREFIX, MAX_EVENTS, now);
  }

  init(): Promise<void> {
    return this.log.init();
  }

  /**
   * Commits a change with the events that describe it, in one txn: all or nothing.
   * The seqs are taken there (controller/store/seq-log.ts), so members never collide.
   * `via`: the store the txn goes through — a leader's decisions pass its guarded
   * store (leader/leadership.ts TermContext), so a deposed leader's write changes nothing.
   */
  txn(compares: Compare[], ops: Op[], events: readonly NewEvent[], via?: Store): Promise<TxnResult> {
    return this.log.txn(compares, ops, events.map(fields), via).then((r) => r.res);
  }

  append(ev: NewEvent): Promise<EventRecord> {
    return this.log.append(fields(ev));
  }

  /** Filtering needs a scan of everything kept; MAX_EVENTS bounds it. */
  list(opts: { limit: number; host?: string; service?: string }): Promise<EventRecord[]> {
    return this.log.list({ limit: opts.limit, match: (e) => matches(e, opts) });
  }
}

function fields(ev: NewEvent): Omit<EventRecord, "seq" | "timeMs"> {
  return { type: ev.type, host: ev.host ?? "", service: ev.service ?? "", message: ev.message, actor: ev.actor ?? "" };
}

export function matches(e: EventRecord, f: { host?: string; service?: string }): boolean {
  return (!f.host || e.host === f.host) && (!f.service || e.service === f.service);
}
