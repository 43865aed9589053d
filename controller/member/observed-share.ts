/**
 * What hosts report about their instances (ObservedInstance), shared by a controller
 * group: the leader decides rollouts and replacements from it, and every member shows
 * it (`berth status`, `endpoints -w`), whichever member holds a host's stream. The
 * member holding a stream writes `observed/<host>` when what the host reports
 * changes — a state, an epoch, a restart, not a heartbeat — and every member follows
 * the prefix into the reconcile loop's map. `berth host remove` deletes the key with
 * the host's record (member/api/host-remove.ts); every member then drops it from its map.
 *
 * A lone controller shares nothing: its map is filled by its own streams alone.
 */
import { z } from "zod";
import type { Logger } from "../../shared/log/logger.js";
import { setTimeoutClamped } from "../../shared/timer.js";
import type { Store, Watcher } from "../store/store.js";
import { decodeRecord, encodeRecord } from "../store/record.js";
import { INSTANCE_STATES, type ObservedInstance } from "../services/records.js";

export const OBSERVED_PREFIX = "observed/";
export const observedKey = (hostId: string): string => `${OBSERVED_PREFIX}${hostId}`;

export const ObservedInstanceSchema = z.object({
  hostId: z.string().min(1).max(64),
  service: z.string().max(200),
  instance: z.string().max(200),
  epoch: z.number().int().min(0),
  revision: z.number().int().min(0),
  state: z.enum(INSTANCE_STATES),
  detail: z.string().max(4096),
  restarts: z.number().int().min(0),
  sinceMs: z.number().min(0),
  pid: z.number().int().min(0),
  resourcesEnforced: z.boolean(),
  resourcesNote: z.string().max(4096),
  installTail: z.string().max(65_536),
});

/** A failed write is tried again this long after, doubling while writes keep failing, up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export class ObservedShare {
  private readonly lastWritten = new Map<string, string>();
  private watcher: Watcher | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  /** Hosts whose latest report did not reach the store: written again by a timer (scheduleRetry). */
  private readonly unwritten = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly firstRetryMs: number;
  private retryMs: number;
  private closed = false;

  constructor(
    private readonly d: {
      store: Store;
      observed: Map<string, ObservedInstance>;
      /** Whether this member holds the host's stream now: then its own reports are newer than the store's. */
      holds: (hostId: string) => boolean;
      /** Something a decision or a view depends on changed. */
      onChange: () => void;
      log: Logger;
      /** The first retry's delay after a failed write. @default RETRY_MIN_MS */
      retryMs?: number;
    },
  ) {
    this.firstRetryMs = this.retryMs = d.retryMs ?? RETRY_MIN_MS;
  }

  /** Writes what a host this member holds reports, when it changed (writes in order, one at a time). */
  publish(o: ObservedInstance): void {
    const value = encodeRecord(o);
    if (this.lastWritten.get(o.hostId) === value) return;
    this.lastWritten.set(o.hostId, value);
    this.writing = this.writing
      .then(() => this.d.store.put(`${OBSERVED_PREFIX}${o.hostId}`, value))
      .then(
        () => void (this.retryMs = this.firstRetryMs),
        (err: unknown) => {
          this.lastWritten.delete(o.hostId);
          this.d.log.warn({ err, host: o.hostId }, "sharing an observed state failed; trying again");
          // Not left for the host's next report: a copy that fenced itself reports nothing more,
          // and the leader gives it back only once it has read that stop here.
          this.unwritten.add(o.hostId);
          this.scheduleRetry();
        },
      );
  }

  /** Writes again what the hosts in `unwritten` last reported, while this member holds them. */
  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeoutClamped(() => {
      this.retryTimer = undefined;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      const hosts = [...this.unwritten];
      this.unwritten.clear();
      for (const h of hosts) {
        const o = this.d.observed.get(h);
        if (o && this.d.holds(h)) this.publish(o);
      }
    }, this.retryMs);
    this.retryTimer.unref();
  }

  async follow(): Promise<void> {
    const at = await this.d.store.revision();
    for (const kv of await this.d.store.scan(OBSERVED_PREFIX)) this.take(kv.key, kv.value);
    this.watcher = await this.d.store.watch(OBSERVED_PREFIX, (ev) => (ev.type === "put" ? this.take(ev.kv.key, ev.kv.value) : this.drop(ev.key.slice(OBSERVED_PREFIX.length))), { fromRevision: at + 1 });
  }

  /** Deleted with its host: gone from the map, and a later report (a host joining again) is written anew. */
  private drop(hostId: string): void {
    this.lastWritten.delete(hostId);
    if (this.d.holds(hostId) || !this.d.observed.delete(hostId)) return;
    this.d.onChange();
  }

  private take(key: string, value: string): void {
    const d = decodeRecord(ObservedInstanceSchema, value);
    if (!d.ok || `${OBSERVED_PREFIX}${d.rec.hostId}` !== key) {
      this.d.log.warn({ key, reason: d.ok ? "filed under another host" : d.reason }, "observed state ignored");
      return;
    }
    if (this.d.holds(d.rec.hostId)) return;
    this.d.observed.set(d.rec.hostId, d.rec);
    this.d.onChange();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.writing;
  }
}
