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
import type { InstanceRecord } from "../services/records.js";
import { rescheduleDecision } from "../reschedule/policy.js";
import type { ReconcileLoop } from "../reconcile/loop.js";
import type { UnitError } from "../reconcile/unit-errors.js";
import { serviceOfInstance, type InstanceWait, type Waits } from "../reconcile/waits.js";

export const WAITS_PREFIX = "waits/";

/** Longer reasons are cut. */
const REASON_MAX = 1_000;
/**
 * A value's size at most: etcd takes a request of 1.5 MiB by default (--max-request-bytes).
 * Slots that wait for one reason share one entry, so this is reached only by thousands of
 * distinct reasons; then reasons are shortened, and the slots of groups that still do
 * not fit are shared under their kind with overflowReason. (`more` counts slots left out
 * altogether: none while a spec holds at most 10,000 slots.)
 */
const VALUE_MAX = 1_000_000;
/** A txn's ops at most, and their bytes: etcd refuses more than 128 ops by default (--max-txn-ops). */
const OPS_PER_TXN = 100;
const TXN_BYTES = 1_200_000;
/** A failed write is tried again this long after, doubling while writes keep failing, up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

const ServiceWaitsSchema = z.object({
  service: z.string().min(1).max(200),
  /** Slots that wait for the same reason, in the same way. */
  waits: z
    .array(
      z.object({
        kind: z.enum(["unplaced", "held"]),
        reason: z.string().max(REASON_MAX),
        stuck: z.boolean(),
        slots: z.array(z.number().int().min(0)).max(100_000),
      }),
    )
    .max(100_000),
  /** Waiting slots left out for the value's size. */
  more: z.number().int().min(0),
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
type Stored = { rec: ServiceWaits; value: string; bySlot: Map<number, InstanceWait>; revision: number };

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A service's waits as stored: every group of slots, shortened and then cut down until it fits VALUE_MAX. Pure. */
export function encodeWaits(rec: ServiceWaits): string {
  let value = encodeRecord(rec);
  if (Buffer.byteLength(value) <= VALUE_MAX) return value;
  const short = { ...rec, waits: rec.waits.map((w) => ({ ...w, reason: cut(w.reason, 120) })) };
  value = encodeRecord(short);
  if (Buffer.byteLength(value) <= VALUE_MAX) return value;
  // Still too big: as many groups as fit; the slots of the rest are shared under their
  // kind with a reason that says so (room for every slot that way is set aside first:
  // a spec has at most 10,000, a few bytes each), so a member that does not lead still
  // tells an unplaced slot from a held one (apply --wait ends on the kind).
  const overflow = (ws: ServiceWaits["waits"]): ServiceWaits["waits"] => overflowGroups(ws, rec.waits.length);
  let size = Buffer.byteLength(encodeRecord({ ...short, waits: overflow(short.waits), more: 0 })) + 32;
  if (size > VALUE_MAX) return encodeRecord({ ...short, waits: [], more: rec.more + rec.waits.reduce((n, w) => n + w.slots.length, 0) });
  const kept: ServiceWaits["waits"] = [];
  const rest: ServiceWaits["waits"] = [];
  for (const w of short.waits) {
    const n = Buffer.byteLength(JSON.stringify(w)) + 1;
    if (size + n <= VALUE_MAX) {
      kept.push(w);
      size += n;
    } else rest.push(w);
  }
  return encodeRecord({ ...short, waits: [...kept, ...overflow(rest)], more: rec.more });
}

/** The reason a member that does not lead shows for a slot whose own did not fit in the record. */
export function overflowReason(distinct: number): string {
  return `one of ${distinct} distinct reasons this service's slots wait for, more than members share: the leader's own status names it (berth controllers says which member leads; --addr asks it)`;
}

/** `ws`'s slots, one group per kind and stuck, under overflowReason. Pure. */
function overflowGroups(ws: ServiceWaits["waits"], distinct: number): ServiceWaits["waits"] {
  const byKey = new Map<string, ServiceWaits["waits"][number]>();
  for (const w of ws) {
    const k = `${w.kind}\0${w.stuck ? 1 : 0}`;
    let g = byKey.get(k);
    if (!g) byKey.set(k, (g = { kind: w.kind, reason: overflowReason(distinct), stuck: w.stuck, slots: [] }));
    g.slots.push(...w.slots);
  }
  for (const g of byKey.values()) g.slots.sort((a, b) => a - b);
  return [...byKey.values()];
}

/** What a leader's loop left, per service, as stored (sorted, so equal waits encode equal). Pure. */
export function waitsOf(loop: Pick<ReconcileLoop, "unplaced" | "held" | "backoff" | "stuck" | "errors">): Map<string, ServiceWaits> {
  const out = new Map<string, ServiceWaits>();
  const groups = new Map<string, Map<string, ServiceWaits["waits"][number]>>();
  const entry = (service: string): ServiceWaits => {
    let e = out.get(service);
    if (!e) out.set(service, (e = { service, waits: [], more: 0, error: null }));
    return e;
  };
  const add = (id: string, kind: "unplaced" | "held", why: string): void => {
    const service = serviceOfInstance(id);
    if (service === undefined) return;
    entry(service);
    const reason = cut(why, REASON_MAX);
    const stuck = loop.stuck.has(id);
    const k = `${kind}\0${stuck ? 1 : 0}\0${reason}`;
    let byKey = groups.get(service);
    if (!byKey) groups.set(service, (byKey = new Map()));
    let g = byKey.get(k);
    if (!g) byKey.set(k, (g = { kind, reason, stuck, slots: [] }));
    g.slots.push(Number(id.slice(service.length + 1)));
  };
  for (const [id, why] of loop.unplaced) add(id, "unplaced", why);
  for (const [id, why] of loop.held) if (!loop.backoff.has(id)) add(id, "held", why);
  for (const [name, e] of loop.errors) entry(name).error = { message: e.message.slice(0, 4096), sinceMs: e.sinceMs, atMs: e.atMs, attempts: e.attempts, retryAtMs: e.retryAtMs };
  for (const [service, byKey] of groups) {
    const waits = [...byKey.values()];
    for (const w of waits) w.slots.sort((a, b) => a - b);
    waits.sort((a, b) => a.slots[0]! - b.slots[0]!);
    entry(service).waits = waits;
  }
  return out;
}

export class WaitShare implements Waits {
  /** service → its stored record: decoded, encoded (the leader writes only what differs), indexed by slot, and its revision. */
  private readonly stored = new Map<string, Stored>();
  /** service → the revision of this member's own delete of its key: a put delivered late from before it is not taken back. */
  private readonly deleted = new Map<string, number>();
  /** The term store the last look was made through: a new one starts retries afresh. */
  private termVia: Store | undefined;
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
      /** The first retry's delay after a failed write. @default RETRY_MIN_MS */
      retryMs?: number;
    },
  ) {
    this.retryMs = d.retryMs ?? RETRY_MIN_MS;
    this.stopPass = d.loop.onPass(() => this.publish());
  }

  wait(rec: Pick<InstanceRecord, "service" | "slot" | "hostId" | "failures">, nowMs: number): InstanceWait | undefined {
    if (this.d.loop.leading) return this.d.loop.wait(rec);
    const w = this.stored.get(rec.service)?.bySlot.get(rec.slot);
    if (w) return w;
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
    for (const kv of await this.d.store.scan(WAITS_PREFIX)) this.take(kv.key, kv.value, kv.modRevision);
    this.watcher = await this.d.store.watch(WAITS_PREFIX, (ev) => (ev.type === "put" ? this.take(ev.kv.key, ev.kv.value, ev.revision) : this.drop(ev.key.slice(WAITS_PREFIX.length), ev.revision)), { fromRevision: at + 1 });
  }

  private drop(service: string, revision: number): void {
    const tomb = this.deleted.get(service);
    if (tomb !== undefined) {
      // Events come in revision order: once this member's own delete comes back, nothing older follows.
      if (revision >= tomb) this.deleted.delete(service);
      if (revision <= tomb) return;
    }
    const had = this.stored.get(service);
    // An event older than this member's own write, delivered late: what is stored is newer.
    if (!had || had.revision > revision) return;
    this.stored.delete(service);
    this.written = [];
    this.d.onChange();
  }

  private take(key: string, value: string, revision: number): void {
    const service = key.slice(WAITS_PREFIX.length);
    // A put older than this member's own delete of the key, delivered late.
    if ((this.deleted.get(service) ?? 0) >= revision) return;
    this.deleted.delete(service);
    const had = this.stored.get(service);
    if (had && had.revision > revision) return;
    if (had?.value === value) return;
    const d = decodeRecord(ServiceWaitsSchema, value);
    if (!d.ok || d.rec.service !== service) {
      this.d.log.warn({ key, reason: d.ok ? "filed under another service" : d.reason }, "shared waits ignored");
      // Unreadable: as if absent, so the leader writes it anew and no member shows what it said before.
      if (had) this.drop(service, revision);
      return;
    }
    this.stored.set(service, stored(d.rec, value, revision));
    // Written by someone else (a predecessor's late write): a leader diffs again on its next look.
    this.written = [];
    this.d.onChange();
  }

  /** While this member leads: writes what its loop's last pass left, where it differs from what is stored (one write at a time). */
  private publish(): void {
    const via = this.d.loop.termStore;
    if (via !== this.termVia) {
      // A new term: nothing of the last one's retries or backoff carries over.
      this.termVia = via;
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.retryMs = this.d.retryMs ?? RETRY_MIN_MS;
    }
    // A retry pending: it writes (backing off), not every pass.
    if (this.closed || !via || this.retryTimer) return;
    if (this.writing) {
      this.again = true;
      return;
    }
    const { loop } = this.d;
    const maps = [loop.unplaced, loop.held, loop.backoff, loop.stuck, loop.errors];
    if (maps.every((m, k) => m === this.written[k])) return;
    const want = waitsOf(loop);
    const ops: Op[] = [];
    const wrote: [string, ServiceWaits | undefined, string][] = [];
    for (const [service, rec] of want) {
      const value = encodeWaits(rec);
      if (this.stored.get(service)?.value === value) continue;
      ops.push({ type: "put", key: `${WAITS_PREFIX}${service}`, value });
      wrote.push([service, rec, value]);
    }
    for (const service of this.stored.keys()) {
      if (want.has(service)) continue;
      ops.push({ type: "delete", key: `${WAITS_PREFIX}${service}` });
      wrote.push([service, undefined, ""]);
    }
    if (ops.length === 0) {
      this.written = maps;
      return;
    }
    this.writing = true;
    void (async () => {
      try {
        // In txns etcd takes: at most OPS_PER_TXN ops and about TXN_BYTES.
        for (let k = 0; k < ops.length; ) {
          let bytes = 0;
          let n = 0;
          while (k + n < ops.length && n < OPS_PER_TXN) {
            const op = ops[k + n]!;
            const size = Buffer.byteLength(op.key) + (op.type === "put" ? Buffer.byteLength(op.value) : 0);
            if (n > 0 && bytes + size > TXN_BYTES) break;
            bytes += size;
            n++;
          }
          const { revision } = await via.txn([], ops.slice(k, k + n));
          // As the watch will deliver it: the next look compares with what was written.
          for (const [service, rec, value] of wrote.slice(k, k + n)) {
            // Unless a newer write (a successor's) came in by the watch meanwhile.
            if ((this.stored.get(service)?.revision ?? 0) > revision || (this.deleted.get(service) ?? 0) > revision) continue;
            if (!rec) {
              this.stored.delete(service);
              this.deleted.set(service, revision);
            } else {
              const decoded = decodeRecord(ServiceWaitsSchema, value);
              if (decoded.ok) this.stored.set(service, stored(decoded.rec, value, revision));
            }
          }
          k += n;
        }
        this.written = maps;
        this.retryMs = this.d.retryMs ?? RETRY_MIN_MS;
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
      this.written = [];
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

/** A stored record with its slots indexed: a status of a 10,000-slot service looks each up once. */
function stored(rec: ServiceWaits, value: string, revision: number): Stored {
  const bySlot = new Map<number, InstanceWait>();
  for (const w of rec.waits) {
    const wait: InstanceWait = { kind: w.kind, reason: w.reason, stuck: w.stuck };
    for (const slot of w.slots) bySlot.set(slot, wait);
  }
  return { rec, value, bySlot, revision };
}
