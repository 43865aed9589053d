/**
 * This controller as a member of a group on etcd (issue 11): its registration — a
 * key `<P>members/<id>` = {id, address, startedAtMs} under a lease of its own, so a
 * member killed without a word drops out of `berth controllers` within the TTL, kept
 * present round after round while it lives (member/registration.ts decides each step) — and
 * what `berth controllers` reads about the group: the members, which one leads (the
 * election's oldest key) and the health of each etcd endpoint.
 *
 * The keys live beside the store's data (`<P>d/…`), not in it: a lease-backed key
 * that vanishes on its own must not be a Store record, whose every change the store's
 * revision counts.
 */
import { z } from "zod";
import type { Logger } from "../../shared/log/logger.js";
import { setTimeoutClamped } from "../../shared/timer.js";
import type { EndpointHealth, EtcdStore } from "../store/etcd-store.js";
import type { ICompare, IRequestOp } from "etcd3";
import { makeRetry, prefixEnd } from "../store/etcd-store.js";
import { assertNever } from "../scheduler/assert-never.js";
import { afterStep, MAX_STEPS_PER_ROUND, nextRoundDelayMs, registrationStep, registrationTimings, type RegistrationTimings, type RegistrationView } from "./registration.js";

export const MemberRecordSchema = z.object({
  id: z.string().min(1).max(128),
  address: z.string().min(1).max(300),
  startedAtMs: z.number().int().min(0),
});
export type MemberRecord = z.infer<typeof MemberRecordSchema>;

/**
 * Every member ever registered, kept (no lease) beside the registrations: a member
 * not registered now is *gone* — lost (its lease lapsed) or left (stopped cleanly) —
 * and `berth controllers` keeps showing it until it registers again or an admin
 * forgets it. goneSinceMs is written by the leader once the member has been missing
 * for a while (server.ts), or by the member itself as it leaves.
 */
export const SeenRecordSchema = MemberRecordSchema.extend({
  goneSinceMs: z.number().int().min(0).optional(),
  left: z.boolean().optional(),
});
export type SeenRecord = z.infer<typeof SeenRecordSchema> & {
  /** The record's etcd mod revision when read: a write conditioned on it changes nothing if the member rewrote it since. */
  modRevision?: string;
};

/** Where a term's leader writes who leads and since when (a Store record, through the guarded store). */
export const LEADER_KEY = "control/leader";
export const LeaderRecordSchema = z.object({ member: z.string().min(1).max(128), sinceMs: z.number().int().min(0) });

/** What `berth controllers` shows of the group; a lone controller answers for itself alone. */
export interface GroupView {
  store: "leveldb" | "etcd";
  members(): Promise<MemberRecord[]>;
  /** The members as last read (for a member that cannot reach the store now). */
  lastMembers?(): MemberRecord[];
  /** The member leading now, or undefined while none does. */
  leader(): Promise<string | undefined>;
  endpoints(): Promise<EndpointHealth[]>;
  /** Members seen before that are not among `registered`. */
  gone?(registered: readonly MemberRecord[]): Promise<SeenRecord[]>;
  /** Drops a gone member's record for good; refused (an Error) while it is registered. Undefined: no such member seen. */
  forget?(id: string): Promise<SeenRecord | undefined>;
}

const MEMBERS = "members/";
const SEEN = "seen/";

export class EtcdGroup implements GroupView {
  readonly store = "etcd" as const;
  private closed = false;
  private readonly prefix: Buffer;
  private readonly key: Buffer;
  private known: MemberRecord[] = [];
  private readonly timings: RegistrationTimings;
  private readonly retry: ReturnType<typeof makeRetry>;
  /** The lease this member's key lives under, as far as it knows. */
  private leaseId: string | undefined;
  private failures = 0;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly random: () => number;
  private readonly seenPrefix: Buffer;
  private seenRecorded = false;
  private firstRoundDone = false;

  constructor(
    private readonly d: {
      etcd: EtcdStore;
      self: MemberRecord;
      /** The registration's lease (rounded up to whole seconds, at least 2). */
      ttlMs: number;
      /** Who leads, from the election (store/election.ts Election.leader). */
      leader: () => Promise<string | undefined>;
      log: Logger;
      /** Jitter of the rounds. @default Math.random */
      random?: () => number;
      /** @default Date.now */
      now?: () => number;
      /**
       * This member's seen record said it was gone (lost, or left) when it recorded itself
       * again: it is back, and this write is what made it so (member/gone-members.ts says
       * so for a return the leader's write recorded instead).
       */
      onBack?: (prior: SeenRecord) => void;
    },
  ) {
    this.seenPrefix = Buffer.from(d.etcd.prefix + SEEN, "utf8");
    this.prefix = Buffer.from(d.etcd.prefix + MEMBERS, "utf8");
    this.key = Buffer.concat([this.prefix, Buffer.from(d.self.id, "utf8")]);
    this.timings = registrationTimings(d.ttlMs);
    this.retry = makeRetry(d.etcd.endpoints, d.etcd.attemptTimeoutMs, this.timings.callBudgetMs);
    this.random = d.random ?? Math.random;
  }

  /**
   * Starts keeping this member's key present under a live lease (member/registration.ts),
   * round after round until close(); resolves after the first round, registered or not
   * (a round that failed is tried again soon, and says so in the log).
   */
  async register(): Promise<void> {
    if (this.closed || this.loop) return;
    let first!: () => void;
    const firstDone = new Promise<void>((r) => (first = r));
    this.loop = this.run(first);
    await firstDone;
    // Seen from now on (and no longer gone, if it was); tried again after later rounds if it failed.
    await this.recordSeen();
    // Known from now on, should etcd go before anyone asks (lastMembers).
    await this.members().catch(() => undefined);
  }

  private async run(firstDone: () => void): Promise<void> {
    while (!this.closed) {
      try {
        await this.round();
        if (this.failures > 0) {
          this.d.log.info({ member: this.d.self.id, failedRounds: this.failures }, "this member is registered again");
          // Its seen record may have been forgotten while it was cut off (by hand, or by the leader after 72 h): written again.
          this.seenRecorded = false;
        }
        this.failures = 0;
        if (!this.seenRecorded && this.firstRoundDone) await this.recordSeen();
      } catch (err) {
        if (this.closed) break;
        this.failures++;
        // Once per outage, then every 10th round: a member cut off for minutes must not flood its log.
        if (this.failures === 1 || this.failures % 10 === 0) this.d.log.warn({ err, member: this.d.self.id, failedRounds: this.failures }, "keeping this member registered failed; trying again");
      }
      firstDone();
      this.firstRoundDone = true;
      if (this.closed) break;
      await new Promise<void>((resolve) => {
        const t = setTimeoutClamped(() => resolve(), nextRoundDelayMs(this.timings, this.failures, this.random()));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    firstDone();
  }

  /** One round: steps until the key is read back as wanted (registration.ts decides each). */
  private async round(): Promise<void> {
    const client = this.d.etcd.client;
    let v: RegistrationView = { leaseId: this.leaseId, want: JSON.stringify(this.d.self) };
    for (let i = 0; i < MAX_STEPS_PER_ROUND; i++) {
      if (this.closed) return;
      const step = registrationStep(v);
      switch (step.type) {
        case "done":
          return;
        case "grant": {
          if (v.leaseId !== undefined) this.d.log.warn({ member: this.d.self.id, lease: v.leaseId }, "the member registration's lease has expired; granting a new one");
          const res = await this.retry("a lease grant", (o) => client.leaseClient.leaseGrant({ TTL: this.timings.leaseTtlSec }, o));
          this.leaseId = res.ID;
          v = afterStep(v, { type: "granted", leaseId: res.ID });
          break;
        }
        case "keep-alive":
          v = afterStep(v, { type: "kept-alive", ttlSec: await this.keepAliveOnce(step.leaseId) });
          if (v.leaseId === undefined) this.leaseId = undefined;
          break;
        case "read": {
          const res = await this.retry("a read", (o) => client.kv.range({ key: this.key }, o));
          const kv = res.kvs[0];
          v = afterStep(v, { type: "read", key: kv ? { value: kv.value.toString("utf8"), lease: String(kv.lease) } : null });
          break;
        }
        case "put":
          this.d.log.info({ member: this.d.self.id, lease: step.leaseId, why: step.why }, "registering this member");
          await this.retry("a put", (o) => client.kv.put({ key: this.key, value: Buffer.from(v.want, "utf8"), lease: step.leaseId }, o));
          v = afterStep(v, { type: "put" });
          break;
        default:
          return assertNever(step);
      }
    }
    throw new Error(`registration did not settle within ${MAX_STEPS_PER_ROUND} steps`);
  }

  /**
   * One keep-alive of the lease: the TTL etcd says it has left (<= 0: gone). Sent on every
   * endpoint's own client at once and taken from the first answer (a keep-alive is
   * idempotent): on the shared client, an attempt that picked an endpoint just killed or
   * cut off waited out the round's whole budget, round after round, and the registration
   * lapsed (seen under load with one etcd member of three killed: the member left `berth
   * controllers` for seconds, though etcd kept its quorum).
   */
  private async keepAliveOnce(leaseId: string): Promise<number> {
    const clients = this.d.etcd.clientsPerEndpoint();
    const streams: { cancel(): void }[] = [];
    try {
      return await Promise.any((clients.length ? clients : [this.d.etcd.client]).map((c) => this.keepAliveOn(c, leaseId, streams)));
    } catch (err) {
      throw err instanceof AggregateError ? (err.errors[0] as Error) : err;
    } finally {
      for (const s of streams) s.cancel();
    }
  }

  /** A keep-alive on one client, on a stream of its own with a deadline (added to `streams`, for the caller to cancel). */
  private async keepAliveOn(client: EtcdStore["client"], leaseId: string, streams: { cancel(): void }[]): Promise<number> {
    const budget = this.timings.callBudgetMs;
    const stream = await withDeadline(client.leaseClient.leaseKeepAlive({ deadline: Date.now() + budget }), budget, "opening a lease keep-alive stream");
    streams.push(stream);
    try {
      return await withDeadline(
        new Promise<number>((resolve, reject) => {
          stream.on("data", (res: { TTL: string | number }) => resolve(Number(res.TTL)));
          // Also what cancel() below emits, once settled: harmless then.
          stream.on("error", (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
          stream.on("end", () => reject(new Error("the keep-alive stream ended without an answer")));
          stream.write({ ID: leaseId });
        }),
        budget,
        "a lease keep-alive",
      );
    } finally {
      stream.cancel();
    }
  }

  async members(): Promise<MemberRecord[]> {
    const res = await this.d.etcd.retry("a read", (o) => this.d.etcd.client.kv.range({ key: this.prefix, range_end: prefixEnd(this.prefix) }, o));
    const out: MemberRecord[] = [];
    for (const kv of res.kvs) {
      const p = MemberRecordSchema.safeParse(safeJson(kv.value.toString("utf8")));
      if (p.success) out.push(p.data);
      else this.d.log.warn({ key: kv.key.toString("utf8") }, "member record unreadable; left out");
    }
    this.known = out;
    return out;
  }

  lastMembers(): MemberRecord[] {
    return [...this.known];
  }

  leader(): Promise<string | undefined> {
    return this.d.leader();
  }

  endpoints(): Promise<EndpointHealth[]> {
    return this.d.etcd.endpointHealth();
  }

  /** Stops the rounds and removes the registration at once (revokes its lease); the member shows as left. True when its record says so. */
  async close(): Promise<boolean> {
    this.closed = true;
    this.wake?.();
    await this.loop;
    const l = this.leaseId;
    this.leaseId = undefined;
    if (l === undefined) return false;
    // Unregistered first: a leader reading in between must not find it registered with a
    // record that says left, and record it present again (then lost, two TTLs later).
    await this.retry("a lease revoke", (o) => this.d.etcd.client.leaseClient.leaseRevoke({ ID: l }, o)).catch(() => undefined);
    return this.putSeen({ ...this.d.self, goneSinceMs: (this.d.now ?? Date.now)(), left: true }).then(
      () => true,
      () => false,
    );
  }

  private async recordSeen(): Promise<void> {
    try {
      const prior = await this.putSeen(this.d.self);
      this.seenRecorded = true;
      if (prior?.goneSinceMs !== undefined) this.d.onBack?.(prior);
    } catch (err) {
      this.d.log.warn({ err }, "recording this member among those seen failed; trying again after the next round");
    }
  }

  private seenKey(id: string): Buffer {
    return Buffer.concat([this.seenPrefix, Buffer.from(id, "utf8")]);
  }

  /**
   * Writes this member's seen record over whatever is there, conditioned on what was just
   * read: an attempt that reaches etcd late (behind a cut link, healed) then changes nothing
   * once the record was written since — a registration's late copy must not undo the
   * `left` of a clean stop (controller/store/etcd-store.ts, "A write from the past").
   */
  private async putSeen(rec: SeenRecord): Promise<SeenRecord | undefined> {
    const key = this.seenKey(rec.id);
    for (let round = 0; round < 3; round++) {
      const now = await this.retry("a read", (o) => this.d.etcd.client.kv.range({ key }, o));
      const kv = now.kvs[0];
      if (await this.seenTxn(rec.id, String(kv?.mod_revision ?? 0), rec)) {
        const prior = kv ? SeenRecordSchema.safeParse(safeJson(kv.value.toString("utf8"))) : undefined;
        return prior?.success ? prior.data : undefined;
      }
    }
    throw new Error(`the seen record of ${rec.id} kept changing while it was written`);
  }

  /** Writes (or, with value undefined, deletes) a seen record only if it is still the one read at `modRevision` (and, with `registration`, only while the member is, or is not, registered). */
  private async seenTxn(id: string, modRevision: string, value: SeenRecord | undefined, registration?: "registered" | "unregistered"): Promise<boolean> {
    const key = this.seenKey(id);
    const compare: ICompare[] = [{ key, target: "Mod", result: "Equal", mod_revision: modRevision }];
    const memberKey = Buffer.concat([this.prefix, Buffer.from(id, "utf8")]);
    if (registration === "unregistered") compare.push({ key: memberKey, target: "Create", result: "Equal", create_revision: "0" });
    if (registration === "registered") compare.push({ key: memberKey, target: "Create", result: "Greater", create_revision: "0" });
    let op: IRequestOp;
    if (value) {
      const { modRevision: _read, ...stored } = value;
      op = { request_put: { key, value: Buffer.from(JSON.stringify(stored), "utf8") } };
    } else op = { request_delete_range: { key } };
    const res = await this.retry("a write", (o) => this.d.etcd.client.kv.txn({ compare, success: [op], failure: [] }, o));
    return res.succeeded;
  }

  /** Every member seen, as recorded. */
  async seen(): Promise<SeenRecord[]> {
    const res = await this.d.etcd.retry("a read", (o) => this.d.etcd.client.kv.range({ key: this.seenPrefix, range_end: prefixEnd(this.seenPrefix) }, o));
    const out: SeenRecord[] = [];
    for (const kv of res.kvs) {
      const p = SeenRecordSchema.safeParse(safeJson(kv.value.toString("utf8")));
      if (p.success && kv.key.toString("utf8") === this.seenKey(p.data.id).toString("utf8")) out.push({ ...p.data, modRevision: String(kv.mod_revision) });
      else this.d.log.warn({ key: kv.key.toString("utf8") }, "seen-member record unreadable; left out");
    }
    return out;
  }

  async gone(registered: readonly MemberRecord[]): Promise<SeenRecord[]> {
    const ids = new Set(registered.map((m) => m.id));
    return (await this.seen()).filter((m) => !ids.has(m.id));
  }

  /** Records a member present again (registered, though its record `seen` said gone), unless it rewrote its record since. */
  async markPresent(rec: MemberRecord, seen: SeenRecord): Promise<boolean> {
    if (seen.modRevision === undefined) return false;
    // Only while it is registered: a clean stop between the leader's reads (unregistered, then `left`) keeps its `left`.
    return this.seenTxn(rec.id, seen.modRevision, { id: rec.id, address: rec.address, startedAtMs: rec.startedAtMs }, "registered");
  }

  /**
   * Records since when a member seen is missing (the leader, once it has missed it a while).
   * False, changing nothing, when the record says so already or was rewritten since it was
   * read (the member registered again meanwhile).
   */
  async markGone(rec: SeenRecord, sinceMs: number): Promise<boolean> {
    if (rec.goneSinceMs !== undefined || rec.modRevision === undefined) return false;
    return this.seenTxn(rec.id, rec.modRevision, { ...rec, goneSinceMs: sinceMs, left: false });
  }

  /** Deletes a gone member's seen record as read (member/gone-members.ts forgets one gone for long): not if it was rewritten since, or the member is registered. */
  async reap(rec: SeenRecord): Promise<boolean> {
    if (rec.modRevision === undefined) return false;
    return this.seenTxn(rec.id, rec.modRevision, undefined, "unregistered");
  }

  async forget(id: string): Promise<SeenRecord | undefined> {
    const registered = (): Error => new Error(`${id} is registered: it runs (or its lease has not lapsed yet); stop it first`);
    if ((await this.members()).some((m) => m.id === id)) throw registered();
    const rec = (await this.seen()).find((m) => m.id === id);
    if (!rec?.modRevision) return undefined;
    // In one transaction with the checks: a member registering (or rewriting its record) meanwhile keeps it.
    if (!(await this.seenTxn(id, rec.modRevision, undefined, "unregistered"))) throw registered();
    return rec;
  }
}

/** p, or an EtcdUnavailable-like error after ms. */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeoutClamped(() => reject(new Error(`etcd did not answer ${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}
