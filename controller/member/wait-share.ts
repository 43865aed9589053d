/**
 * Why instances wait, and why a service's unit fails (reconcile/waits.ts), shared by a
 * controller group: only the leader's loop runs passes, yet `berth status`, `rollout
 * status` and `apply --wait` through any member must say why a slot is pending, and a
 * member that led once must not show what its old term left behind.
 *
 * The leader writes `waits/<service>` after a pass when what that pass leaves differs
 * from what is stored — a slot starts or stops waiting, its reason or the unit's error
 * changes — through its term's guarded store, so a deposed leader cannot overwrite its
 * successor; a service with nothing to say has no key. Steady state writes nothing. A
 * backoff is not shared: its reason counts down ("next attempt in 20s"), and every member
 * derives it from the slot's stored failures (reschedule/policy.ts), as the leader does.
 * Every member follows the prefix; views read the loop's own word while it leads, this
 * otherwise.
 *
 * A lone controller shares nothing: its loop always leads.
 */
import { z } from "zod";
import type { Logger } from "../../shared/log/logger.js";
import { setTimeoutClamped } from "../../shared/timer.js";
import type { Op, Store, Watcher } from "../store/store.js";
import { decodeRecord, encodeRecord } from "../store/record.js";
import { instanceId, type InstanceRecord } from "../services/records.js";
import { rescheduleDecision } from "../reschedule/policy.js";
import type { ReconcileLoop } from "../reconcile/loop.js";
import type { UnitError } from "../reconcile/unit-errors.js";
import { serviceOfInstance, type InstanceWait, type Waits } from "../reconcile/waits.js";

export const WAITS_PREFIX = "waits/";

/** Longer reasons are cut: a value names every waiting slot of its service. */
const REASON_MAX = 2_000;
/** etcd refuses a txn of more than 128 ops by default (--max-txn-ops). */
const OPS_PER_TXN = 100;
/** A failed write is tried again this long after, doubling while writes keep failing, up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

const ServiceWaitsSchema = z.object({
  service: z.string().min(1).max(200),
  instances: z
    .array(
      z.object({
        instance: z.string().min(1).max(220),
        kind: z.enum(["unplaced", "held"]),
        reason: z.string().max(REASON_MAX),
        stuck: z.boolean(),
      }),
    )
    .max(100_000),
  error: z
    .object({
      message: z.string().max(4096),
      sinceMs: z.number().min(0),
      atMs: z.number().min(0),
      attempts: z.number().int().min(0),
      retryAtMs: z.number().min(0).nullable(),
    })
    .nullable(),
});
type ServiceWaits = z.infer<typeof ServiceWaitsSchema>;

/** What a leader's loop left, per service, as stored (sorted, so equal waits encode equal). Pure. */
export function waitsOf(loop: Pick<ReconcileLoop, "unplaced" | "held" | "backoff" | "stuck" | "errors">): Map<string, ServiceWaits> {
  const out = new Map<string, ServiceWaits>();
  const entry = (service: string): ServiceWaits => {
    let e = out.get(service);
    if (!e) out.set(service, (e = { service, instances: [], error: null }));
    return e;
  };
  const add = (id: string, kind: "unplaced" | "held", reason: string): void => {
    const service = serviceOfInstance(id);
    if (service === undefined) return;
    entry(service).instances.push({ instance: id, kind, reason: reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX - 1)}…` : reason, stuck: loop.stuck.has(id) });
  };
  for (const [id, why] of loop.unplaced) add(id, "unplaced", why);
  for (const [id, why] of loop.held) if (!loop.backoff.has(id)) add(id, "held", why);
  for (const [name, e] of loop.errors) entry(name).error = { message: e.message.slice(0, 4096), sinceMs: e.sinceMs, atMs: e.atMs, attempts: e.attempts, retryAtMs: e.retryAtMs };
  for (const e of out.values()) e.instances.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  return out;
}

export class WaitShare implements Waits {
  /** service → its stored record, as decoded and as encoded (the leader writes only what differs). */
  private readonly stored = new Map<string, { rec: ServiceWaits; value: string }>();
  private watcher: Watcher | undefined;
  private writing = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  private closed = false;
  /** The loop's maps as last written: a pass replaces them, a view's notification does not (then there is nothing to diff). */
  private written: readonly object[] = [];
  private readonly stopPass: () => void;

  constructor(
    private readonly d: {
      store: Store;
      loop: Pick<ReconcileLoop, "onPass" | "leading" | "termStore" | "wait" | "error" | "unplaced" | "held" | "backoff" | "stuck" | "errors">;
      /** What was stored changed: views recompute. */
      onChange: () => void;
      log: Logger;
    },
  ) {
    this.stopPass = d.loop.onPass(() => this.publish());
  }

  wait(rec: Pick<InstanceRecord, "service" | "slot" | "hostId" | "failures">, nowMs: number): InstanceWait | undefined {
    if (this.d.loop.leading) return this.d.loop.wait(rec);
    const id = instanceId(rec.service, rec.slot);
    const w = this.stored.get(rec.service)?.rec.instances.find((i) => i.instance === id);
    if (w) return { kind: w.kind, reason: w.reason, stuck: w.stuck };
    // As the leader's planner holds a slot with no host and recent failures (reconcile/planner.ts).
    if (rec.hostId || !rec.failures?.length) return undefined;
    const b = rescheduleDecision(rec.failures, nowMs);
    return b.atMs > nowMs ? { kind: "backoff", reason: b.reason, stuck: false } : undefined;
  }

  error(service: string): UnitError | undefined {
    if (this.d.loop.leading) return this.d.loop.error(service);
    return this.stored.get(service)?.rec.error ?? undefined;
  }

  async follow(): Promise<void> {
    const at = await this.d.store.revision();
    for (const kv of await this.d.store.scan(WAITS_PREFIX)) this.take(kv.key, kv.value);
    this.watcher = await this.d.store.watch(
      WAITS_PREFIX,
      (ev) => {
        if (ev.type === "put") this.take(ev.kv.key, ev.kv.value);
        else if (this.stored.delete(ev.key.slice(WAITS_PREFIX.length))) {
          this.written = [];
          this.d.onChange();
        }
      },
      { fromRevision: at + 1 },
    );
  }

  private take(key: string, value: string): void {
    const d = decodeRecord(ServiceWaitsSchema, value);
    if (!d.ok || `${WAITS_PREFIX}${d.rec.service}` !== key) {
      this.d.log.warn({ key, reason: d.ok ? "filed under another service" : d.reason }, "shared waits ignored");
      return;
    }
    if (this.stored.get(d.rec.service)?.value === value) return;
    this.stored.set(d.rec.service, { rec: d.rec, value });
    // Written by someone else (a predecessor's late write): a leader diffs again on its next look.
    this.written = [];
    this.d.onChange();
  }

  /** While this member leads: writes what its loop's last pass left, where it differs from what is stored (one write at a time). */
  private publish(): void {
    const via = this.d.loop.termStore;
    if (this.closed || !via) return;
    if (this.writing) {
      this.again = true;
      return;
    }
    const { loop } = this.d;
    const maps = [loop.unplaced, loop.held, loop.backoff, loop.stuck, loop.errors];
    if (maps.every((m, k) => m === this.written[k])) return;
    const want = waitsOf(loop);
    const ops: Op[] = [];
    const wrote: [string, { rec: ServiceWaits; value: string } | undefined][] = [];
    for (const [service, rec] of want) {
      const value = encodeRecord(rec);
      if (this.stored.get(service)?.value === value) continue;
      ops.push({ type: "put", key: `${WAITS_PREFIX}${service}`, value });
      wrote.push([service, { rec, value }]);
    }
    for (const service of this.stored.keys()) {
      if (want.has(service)) continue;
      ops.push({ type: "delete", key: `${WAITS_PREFIX}${service}` });
      wrote.push([service, undefined]);
    }
    if (ops.length === 0) {
      this.written = maps;
      return;
    }
    this.writing = true;
    void (async () => {
      try {
        for (let k = 0; k < ops.length; k += OPS_PER_TXN) await via.txn([], ops.slice(k, k + OPS_PER_TXN));
        // As the watch will deliver it: the next pass compares with what was written.
        for (const [service, v] of wrote) {
          if (v) this.stored.set(service, v);
          else this.stored.delete(service);
        }
        this.written = maps;
        this.retryMs = RETRY_MIN_MS;
      } catch (err) {
        // Refused once this member no longer leads (its successor writes), or the store is away: tried again while it leads.
        if (this.d.loop.leading) this.d.log.warn({ err }, "sharing why instances wait failed; trying again");
        this.scheduleRetry();
      } finally {
        this.writing = false;
        if (this.again) {
          this.again = false;
          this.publish();
        }
      }
    })();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeoutClamped(() => {
      this.retryTimer = undefined;
      this.publish();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopPass();
    clearTimeout(this.retryTimer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
