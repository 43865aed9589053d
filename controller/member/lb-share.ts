/**
 * What each `berth lb` has applied, shared by a controller group: an lb reports to
 * whichever member it reaches, and an operator may ask any member (`berth endpoints`,
 * `endpoints -w`, the console) whether a drained copy has left every load balancer.
 * The member an lb reports to writes `lbs/<service>/<lb>`; every member follows the
 * prefix into its LbAppliedBook.
 *
 * Writes: one per report — on each apply, and one a minute per lb in between (the
 * lb's LB_REPORT_EVERY_MS) — so a handful of lbs are a few writes a minute, nothing
 * like a heartbeat's rate. A record not renewed for LB_REPORT_STALE_MS is deleted by
 * whichever member sweeps first (each sweeps every SWEEP_EVERY_MS; deleting twice is
 * harmless), so lbs that were removed, and the records of deleted services, go.
 *
 * A lone controller shares nothing: its book is its own, as before.
 */
import { z } from "zod";
import type { Logger } from "../../shared/log/logger.js";
import type { LbApplied__Output } from "../../shared/gen/berth/v1/LbApplied.js";
import { setIntervalClamped } from "../../shared/timer.js";
import type { Store, Watcher } from "../store/store.js";
import { decodeRecord, encodeRecord } from "../store/record.js";
import { LB_REPORT_STALE_MS, validateLbReport, type LbAppliedBook } from "./api/lb-handlers.js";

export const LBS_PREFIX = "lbs/";
export const lbKey = (service: string, lb: string): string => `${LBS_PREFIX}${service}/${lb}`;
/** How often each member looks for records gone stale. */
export const SWEEP_EVERY_MS = 60_000;

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

/** Keys whose record was last renewed before `cutMs`, or cannot be read (pure). */
export function staleLbKeys(kvs: readonly { key: string; value: string }[], cutMs: number): string[] {
  return kvs
    .filter((kv) => {
      const d = decodeRecord(LbRecordSchema, kv.value);
      return !d.ok || d.rec.reported_at_ms < cutMs;
    })
    .map((kv) => kv.key);
}

export class LbShare {
  private watcher: Watcher | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(
    private readonly d: {
      store: Store;
      book: LbAppliedBook;
      now: () => number;
      log: Logger;
    },
  ) {}

  /** Writes a report this member took (writes in order, one at a time; a failed one is only logged: the lb reports again). */
  publish(rec: LbApplied__Output): void {
    const value = encodeRecord(rec);
    this.writing = this.writing
      .then(() => this.d.store.put(lbKey(rec.service, rec.lb), value))
      .catch((err: unknown) => this.d.log.warn({ err, service: rec.service, lb: rec.lb }, "sharing a load balancer's report with the group failed"));
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
    this.sweeping = (async () => {
      const stale = staleLbKeys(await this.d.store.scan(LBS_PREFIX), this.d.now() - LB_REPORT_STALE_MS);
      for (const key of stale) await this.d.store.delete(key);
      if (stale.length) this.d.log.info({ records: stale.length }, "deleted the reports of load balancers not heard from");
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
    this.d.book.take(d.rec);
  }

  private drop(key: string): void {
    const rest = key.slice(LBS_PREFIX.length);
    const at = rest.lastIndexOf("/");
    if (at > 0) this.d.book.drop(rest.slice(0, at), rest.slice(at + 1));
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.watcher?.close();
    this.watcher = undefined;
    await this.sweeping;
    await this.writing;
  }
}
