/**
 * What each `berth lb` has applied, shared by a controller group: an lb reports to
 * whichever member it reaches, and an operator may ask any member (`berth endpoints`,
 * `endpoints -w`, the console) whether a drained copy has left every load balancer.
 * The member an lb reports to writes `lbs/<service>/<lb>`; every member follows the
 * prefix into its LbAppliedBook.
 *
 * Writes: when what an lb shows changes (an apply, an error), and otherwise once its
 * record is RENEW_AFTER_MS old (the lb re-reports every minute; one write in a few of
 * those keeps the record from going stale) — never at the rate reports come: per lb,
 * only the newest waits, and at most one write in MIN_WRITE_GAP_MS goes out, so a
 * buggy or hostile lb token cannot make etcd's write rate, nor this member's memory,
 * grow. A record not renewed for LB_REPORT_STALE_MS is deleted by whichever member
 * sweeps first (each sweeps every SWEEP_EVERY_MS), each delete conditioned on the
 * record being the one it judged, so a report renewed meanwhile stays. Stamps are
 * the reporting member's clock: one ahead of this member's counts as now.
 *
 * A lone controller shares nothing: its book is its own, as before.
 */
import { z } from "zod";
import type { Logger } from "../../shared/log/logger.js";
import type { LbApplied__Output } from "../../shared/gen/berth/v1/LbApplied.js";
import { setIntervalClamped, setTimeoutClamped } from "../../shared/timer.js";
import type { Store, Watcher } from "../store/store.js";
import { decodeRecord, encodeRecord } from "../store/record.js";
import { LB_REPORT_STALE_MS, validateLbReport, type LbAppliedBook } from "./api/lb-handlers.js";

export const LBS_PREFIX = "lbs/";
export const lbKey = (service: string, lb: string): string => `${LBS_PREFIX}${service}/${lb}`;
/** How often each member looks for records gone stale. */
export const SWEEP_EVERY_MS = 60_000;
/** A record unchanged but this old is written again (well inside LB_REPORT_STALE_MS). */
export const RENEW_AFTER_MS = LB_REPORT_STALE_MS / 4;
/** At most one write per lb in this long: the newest report waits, the ones between are dropped. */
export const MIN_WRITE_GAP_MS = 250;

const LbRecordSchema = z.object({
  service: z.string().min(1).max(200),
  lb: z.string().min(1).max(64),
  kind: z.string().max(32),
  version: z.string().max(64),
  applied_at_ms: z.number().min(0),
  servers: z.number().int().min(0),
  error: z.string().max(1024),
  reported_at_ms: z.number().min(0),
});

/** What an lb shows (a re-report of the same is not news). */
const shown = (r: LbApplied__Output): string => JSON.stringify([r.kind, r.version, r.applied_at_ms, r.servers, r.error]);

/**
 * Whether a report must be written, given the last one written for that lb (pure):
 * what it shows changed, or the record written is RENEW_AFTER_MS old.
 */
export function needsWrite(last: LbApplied__Output | undefined, next: LbApplied__Output): boolean {
  return !last || shown(last) !== shown(next) || next.reported_at_ms - last.reported_at_ms >= RENEW_AFTER_MS;
}

/** Records last renewed before `cutMs`, stamped absurdly far ahead of `nowMs`, or unreadable: each with the revision it was judged at (pure). */
export function staleLbKeys(kvs: readonly { key: string; value: string; modRevision: number }[], cutMs: number, nowMs: number): { key: string; modRevision: number }[] {
  return kvs
    .filter((kv) => {
      const d = decodeRecord(LbRecordSchema, kv.value);
      return !d.ok || d.rec.reported_at_ms < cutMs || d.rec.reported_at_ms > nowMs + LB_REPORT_STALE_MS;
    })
    .map((kv) => ({ key: kv.key, modRevision: kv.modRevision }));
}

export class LbShare {
  private watcher: Watcher | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  /** Per lb key: the last record written, the newest waiting, and whether a write is out. */
  private readonly keys = new Map<string, { written?: LbApplied__Output; waiting?: LbApplied__Output; busy: boolean; timer?: NodeJS.Timeout }>();
  private readonly writes = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly d: {
      store: Store;
      book: LbAppliedBook;
      now: () => number;
      log: Logger;
      /** @default MIN_WRITE_GAP_MS */
      minGapMs?: number;
    },
  ) {}

  /** Shares a report this member took: written when needsWrite says so, the newest per lb only, one write at a time per lb. */
  publish(rec: LbApplied__Output): void {
    if (this.closed) return;
    const key = lbKey(rec.service, rec.lb);
    let k = this.keys.get(key);
    if (!k) this.keys.set(key, (k = { busy: false }));
    if (!needsWrite(k.written, rec)) return;
    k.waiting = rec;
    this.pump(key);
  }

  private pump(key: string): void {
    const k = this.keys.get(key);
    if (!k || k.busy || k.timer || !k.waiting || this.closed) return;
    const rec = k.waiting;
    k.waiting = undefined;
    k.busy = true;
    const w = this.d.store
      .put(key, encodeRecord(rec))
      .then(
        () => (k.written = rec),
        (err: unknown) => this.d.log.warn({ err, service: rec.service, lb: rec.lb }, "sharing a load balancer's report with the group failed"),
      )
      .finally(() => {
        this.writes.delete(w);
        k.busy = false;
        // The next write of this lb no sooner than the gap: a report that came meanwhile waits, newest only.
        k.timer = setTimeoutClamped(() => {
          k.timer = undefined;
          this.pump(key);
        }, this.d.minGapMs ?? MIN_WRITE_GAP_MS);
        k.timer.unref();
      });
    this.writes.add(w);
  }

  async follow(): Promise<void> {
    const at = await this.d.store.revision();
    for (const kv of await this.d.store.scan(LBS_PREFIX)) this.take(kv.key, kv.value);
    this.watcher = await this.d.store.watch(LBS_PREFIX, (ev) => (ev.type === "put" ? this.take(ev.kv.key, ev.kv.value) : this.drop(ev.key)), { fromRevision: at + 1 });
    this.sweeper = setIntervalClamped(() => this.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  private sweep(): void {
    if (this.sweeping) return;
    const cut = this.d.now() - LB_REPORT_STALE_MS;
    for (const [key, k] of this.keys) if (!k.busy && !k.waiting && !k.timer && (k.written?.reported_at_ms ?? 0) < cut) this.keys.delete(key);
    this.sweeping = (async () => {
      const stale = staleLbKeys(await this.d.store.scan(LBS_PREFIX), cut, this.d.now());
      let deleted = 0;
      // Only the record judged: one renewed since (another modRevision) stays.
      for (const s of stale) if ((await this.d.store.txn([{ key: s.key, modRevision: s.modRevision }], [{ type: "delete", key: s.key }])).succeeded) deleted++;
      if (deleted) this.d.log.info({ records: deleted }, "deleted the reports of load balancers not heard from");
    })()
      .catch((err: unknown) => this.d.log.warn({ err }, "sweeping stale load balancer reports failed"))
      .finally(() => (this.sweeping = undefined));
  }

  private take(key: string, value: string): void {
    const d = decodeRecord(LbRecordSchema, value);
    const problems = d.ok ? validateLbReport(d.rec) : [];
    if (!d.ok || problems.length || key !== lbKey(d.rec.service, d.rec.lb)) {
      this.d.log.warn({ key, reason: !d.ok ? d.reason : problems.length ? problems.join("; ") : "filed under another key" }, "load balancer report ignored");
      return;
    }
    // Another member's clock ahead of ours: its stamp counts as now, or it would outrank every later report.
    this.d.book.take({ ...d.rec, reported_at_ms: Math.min(d.rec.reported_at_ms, this.d.now()) });
  }

  private drop(key: string): void {
    const rest = key.slice(LBS_PREFIX.length);
    const at = rest.lastIndexOf("/");
    // Swept as stale: a record this member holds that is not stale (taken since) stays.
    if (at > 0) this.d.book.drop(rest.slice(0, at), rest.slice(at + 1), this.d.now() - LB_REPORT_STALE_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const k of this.keys.values()) clearTimeout(k.timer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.sweeping;
    await Promise.all(this.writes);
  }
}
