/**
 * Leader election of a controller group through an etcd lease (issue 11), after etcd's
 * own election recipe (clientv3/concurrency): each campaigner writes
 * `<P>election/<lease id>` = its member id under its own lease; the one whose key has
 * the smallest create revision leads; the others wait for the key just before theirs
 * to be deleted (resigned, or its lease expired).
 *
 * Losing leadership is judged locally, not by etcd3's late 'lost' (after 2 × TTL):
 * etcd may expire the lease TTL after the last keep-alive it *received*, so a leader
 * steps down at TTL after it *sent* the last keep-alive etcd answered, less a margin,
 * whether or not etcd can be reached to say so (leaseLostAt below, a pure function).
 *
 * Stepping down locally is the polite half; the guard is the safe half: guardStore
 * returns a Store whose every write carries, in the same etcd transaction, a compare
 * that the leader key is still the one this member created. A deposed leader (paused,
 * partitioned, slow) can therefore never overwrite its successor: its write fails with
 * NotLeaderError and changes nothing.
 */
import type { Etcd3, IWatchResponse } from "etcd3";
import { monoMs } from "../../shared/clock.js";
import { setTimeoutClamped } from "../../shared/timer.js";
import { EtcdStore, EtcdUnavailableError, makeClient, makeRetry, prefixEnd } from "./etcd-store.js";
import type { Compare, Op, Store, TxnResult } from "./store.js";
import { NotLeaderError } from "./not-leader.js";

export { NotLeaderError };

/** The campaign was given up (resign, or the election closed) before it won. */
export class CampaignAbortedError extends Error {
  constructor(detail: string) {
    super(`campaign aborted: ${detail}`);
    this.name = "CampaignAbortedError";
  }
}

// ---- the pure part -------------------------------------------------------------------

/**
 * When a leader must consider its lease gone: etcd's leader restarts the TTL when it
 * receives a keep-alive, which is after we sent it, so TTL after the send is the
 * earliest etcd may expire it. The margin covers clock rate differences and the time
 * to stop work.
 *
 * Worked example: TTL 5000 ms, margin 500 ms, a keep-alive sent at t=12000 was
 * answered; nothing answered since: the leader steps down at 12000 + 5000 - 500 = 16500.
 */
export function leaseLostAt(lastAnsweredSentAt: number, ttlMs: number, marginMs: number): number {
  return lastAnsweredSentAt + ttlMs - marginMs;
}

/**
 * Keep-alive bookkeeping on one stream: requests are answered in order, so the i-th
 * answer is for the i-th request still pending. Pure: times come in as arguments.
 */
export class KeepAliveLedger {
  private readonly pending: number[] = [];
  /** Send time of the newest keep-alive etcd answered with the lease alive. */
  lastAnsweredSentAt: number;

  constructor(
    grantedSentAt: number,
    readonly ttlMs: number,
    readonly marginMs: number,
  ) {
    this.lastAnsweredSentAt = grantedSentAt;
  }

  sent(at: number): void {
    this.pending.push(at);
  }

  /** An answer; ttlSec <= 0 means etcd says the lease is gone. Returns false then. */
  answered(ttlSec: number): boolean {
    const sentAt = this.pending.shift();
    if (ttlSec <= 0) return false;
    if (sentAt !== undefined && sentAt > this.lastAnsweredSentAt) this.lastAnsweredSentAt = sentAt;
    return true;
  }

  /** A new stream: answers to requests on the old one will never come. */
  streamReset(): void {
    this.pending.length = 0;
  }

  lostAt(): number {
    return leaseLostAt(this.lastAnsweredSentAt, this.ttlMs, this.marginMs);
  }

  /**
   * Whether the stream looks stalled at `now`: a keep-alive on it has waited longer than
   * `overdueMs` for its answer. A stream to an etcd member cut off (or to one waiting for a
   * raft leader that is gone) stalls without an error; the lease would lapse on it while the
   * other members answer at once, so the shell opens a new stream when this says so.
   */
  stalled(now: number, overdueMs: number): boolean {
    const oldest = this.pending[0];
    return oldest !== undefined && now - oldest > overdueMs;
  }

  isLost(now: number): boolean {
    return now >= this.lostAt();
  }
}

// ---- the shell -----------------------------------------------------------------------

export interface ElectionOptions {
  /** The etcd store the group shares; the election lives under its key prefix. */
  store: Store;
  /** This member's id, the leader key's value. */
  memberId: string;
  /** Lease TTL: a leader cut off from etcd stops leading within it. @default 5000 */
  ttlMs?: number;
  /** Stepped down this much before the TTL runs out. @default ttlMs / 10 */
  marginMs?: number;
  /** Monotonic clock. @default monoMs */
  mono?: () => number;
}

export interface Leadership {
  memberId: string;
  /** The leader key in etcd (raw, with the store's prefix). */
  key: string;
  createRevision: number;
  leaseId: string;
  /** True until the lease is judged lost or leadership is given up. */
  isLeader(): boolean;
  /** Resolves (with why) once leadership is lost or given up; never rejects. */
  lost: Promise<string>;
  /** A Store whose writes hold only while this leadership does. */
  store: Store;
  /** Gives leadership up at once: deletes the key, revokes the lease. */
  resign(): Promise<void>;
}

const ELECTION = "election/";

/**
 * One member's campaign. campaign() resolves once it leads; close() resigns (or gives
 * up the campaign) and stops every stream and timer.
 */
/** How long a campaigner waits on its watch of an older candidate's key before it reads again (waitDeleted). */
const WAIT_RECHECK_MS = 1_000;

export class Election {
  private readonly store: EtcdStore;
  private readonly client: Etcd3;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly mono: () => number;
  private readonly prefix: Buffer;
  private readonly retry: ReturnType<typeof makeRetry>;
  private closed = false;
  private readonly cleanups = new Set<() => void>();
  private current: { resign: () => Promise<void> } | undefined;
  /** Keep-alive streams go to one endpoint at a time, the next after a stall (clients made on first use, closed with the election). */
  private endpointClients: Etcd3[] | undefined;
  private nextEndpoint = Math.floor(Math.random() * 1024);

  constructor(private readonly opts: ElectionOptions) {
    if (!(opts.store instanceof EtcdStore)) throw new TypeError("leader election needs an etcd:// store");
    this.store = opts.store;
    this.client = this.store.client;
    this.ttlMs = opts.ttlMs ?? 5_000;
    if (!(Number.isSafeInteger(this.ttlMs) && this.ttlMs >= 2_000)) throw new RangeError(`ttlMs must be an integer of at least 2000, got ${this.ttlMs}`);
    this.marginMs = opts.marginMs ?? Math.round(this.ttlMs / 10);
    this.mono = opts.mono ?? monoMs;
    this.prefix = Buffer.from(this.store.prefix + ELECTION, "utf8");
    this.retry = makeRetry(this.store.endpoints, 500, this.store.callTimeoutMs);
  }

  /** Who leads now (the value of the oldest key), or undefined. */
  async leader(): Promise<string | undefined> {
    const res = await this.retry("a read", (o) =>
      this.client.kv.range({ key: this.prefix, range_end: prefixEnd(this.prefix), sort_target: "Create", sort_order: "Ascend", limit: 1 }, o),
    );
    return res.kvs[0]?.value.toString("utf8");
  }

  async campaign(): Promise<Leadership> {
    if (this.closed) throw new CampaignAbortedError("the election is closed");
    const ttlSec = Math.ceil(this.ttlMs / 1000);
    const grantSentAt = this.mono();
    const grant = await this.retry("a lease grant", (o) => this.client.leaseClient.leaseGrant({ TTL: ttlSec }, o));
    const leaseId = grant.ID;
    const ledger = new KeepAliveLedger(grantSentAt, ttlSec * 1000, this.marginMs);
    const key = Buffer.concat([this.prefix, Buffer.from(BigInt(leaseId).toString(16), "utf8")]);

    let resolveLost!: (why: string) => void;
    const lost = new Promise<string>((r) => (resolveLost = r));
    let isLost = false;
    let campaigning = true;
    const stopKeepAlive = this.keepAlive(leaseId, ledger, (why) => markLost(why));
    const markLost = (why: string): void => {
      if (isLost) return;
      isLost = true;
      stopKeepAlive();
      resolveLost(why);
    };
    const revoke = async (): Promise<void> => {
      await this.retry("a lease revoke", (o) => this.client.leaseClient.leaseRevoke({ ID: leaseId }, o)).catch(() => {});
    };
    const giveUp = async (why: string): Promise<void> => {
      campaigning = false;
      markLost(why);
      // Deleting the key first hands over at once; revoking also drops anything else on the lease.
      await this.retry("a delete", (o) => this.client.kv.deleteRange({ key }, o)).catch(() => {});
      await revoke();
    };
    this.current = { resign: () => giveUp("resigned") };
    this.cleanups.add(() => markLost("the election closed"));

    try {
      const created = await this.retry("a campaign write", (o) =>
        this.client.kv.txn(
          {
            compare: [{ key, target: "Create", result: "Equal", create_revision: 0 }],
            success: [{ request_put: { key, value: Buffer.from(this.opts.memberId, "utf8"), lease: leaseId } }],
            failure: [{ request_range: { key } }],
          },
          o,
        ),
      );
      const createRevision = created.succeeded ? Number(created.header.revision) : Number(created.responses[0]?.response_range.kvs[0]?.create_revision ?? 0);
      // Wait until no key older than ours is left.
      for (;;) {
        if (isLost || !campaigning) throw new CampaignAbortedError(isLost ? "the lease was lost while waiting" : "gave up");
        const older = await this.retry("a read", (o) =>
          this.client.kv.range(
            { key: this.prefix, range_end: prefixEnd(this.prefix), max_create_revision: createRevision - 1, sort_target: "Create", sort_order: "Descend", limit: 1 },
            o,
          ),
        );
        const before = older.kvs[0];
        if (before === undefined) break;
        await this.waitDeleted(before.key, Number(older.header.revision) + 1, lost);
      }
      if (isLost) throw new CampaignAbortedError("the lease was lost while waiting");
      const memberId = this.opts.memberId;
      const held = {
        memberId,
        key: key.toString("utf8"),
        createRevision,
        leaseId,
        isLeader: () => !isLost && !ledger.isLost(this.mono()),
        lost,
        resign: () => giveUp("resigned"),
      };
      return { ...held, store: guardStore(this.store, held) };
    } catch (err) {
      await giveUp(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /** Resigns (or gives up the campaign) and stops all streams and timers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.current?.resign();
    for (const c of this.cleanups) c();
    this.cleanups.clear();
    for (const c of this.endpointClients ?? []) c.close();
    this.endpointClients = undefined;
  }

  /**
   * The client a keep-alive stream is opened on: one endpoint's own, the next one after a
   * stall, so a stream never lands on the member that just stalled (the shared client picks
   * an endpoint at random). The shared client when the store was made without its options.
   */
  private keepAliveClient(): Etcd3 {
    const o = this.store.connectOptions;
    if (!o || this.store.endpoints.length < 2) return this.client;
    this.endpointClients ??= this.store.endpoints.map((e) => makeClient({ ...o, endpoints: [e] }));
    return this.endpointClients[this.nextEndpoint % this.endpointClients.length]!;
  }

  /**
   * Keeps the lease alive over a LeaseKeepAlive stream every ttl/3, and judges loss by
   * the local clock: a timer fires at ledger.lostAt(), moved on by every answer.
   */
  private keepAlive(leaseId: string, ledger: KeepAliveLedger, onLost: (why: string) => void): () => void {
    let stopped = false;
    let stream: Awaited<ReturnType<Etcd3["leaseClient"]["leaseKeepAlive"]>> | undefined;
    let sendTimer: NodeJS.Timeout | undefined;
    let lostTimer: NodeJS.Timeout | undefined;
    const intervalMs = Math.max(250, Math.floor(ledger.ttlMs / 3));
    const armLost = (): void => {
      if (lostTimer) clearTimeout(lostTimer);
      lostTimer = setTimeoutClamped(() => {
        if (ledger.isLost(this.mono())) finish("no keep-alive answered within the lease TTL");
        else armLost();
      }, ledger.lostAt() - this.mono());
    };
    const finish = (why: string): void => {
      if (stopped) return;
      stop();
      onLost(why);
    };
    const stop = (): void => {
      stopped = true;
      if (sendTimer) clearTimeout(sendTimer);
      if (lostTimer) clearTimeout(lostTimer);
      stream?.cancel();
      stream = undefined;
    };
    // An answer normally comes in milliseconds; one overdue by this much means the stream stalled
    // (an etcd member cut off says nothing): it is dropped for a stream to the next endpoint.
    const overdueMs = Math.max(500, Math.floor(intervalMs / 2));
    const checkMs = Math.min(250, intervalMs);
    let lastSent = Number.NEGATIVE_INFINITY;
    const send = (): void => {
      if (stopped) return;
      const now = this.mono();
      if (stream && ledger.stalled(now, overdueMs)) {
        const s = stream;
        stream = undefined;
        s.cancel();
        this.nextEndpoint++;
        void open();
      } else if (stream && now - lastSent >= intervalMs) {
        ledger.sent(now);
        lastSent = now;
        stream.write({ ID: leaseId });
      }
      sendTimer = setTimeoutClamped(send, checkMs);
    };
    const open = async (): Promise<void> => {
      if (stopped) return;
      let s: NonNullable<typeof stream>;
      try {
        s = await this.keepAliveClient().leaseClient.leaseKeepAlive();
      } catch {
        this.nextEndpoint++;
        // Retried by the next send tick's reopen below; the lost timer runs on.
        setTimeoutClamped(() => void open(), 200);
        return;
      }
      if (stopped) {
        s.cancel();
        return;
      }
      ledger.streamReset();
      stream = s;
      s.on("data", (res) => {
        if (!ledger.answered(Number(res.TTL))) finish("etcd says the lease expired");
        else armLost();
      });
      const broken = (): void => {
        if (stream !== s) return;
        stream = undefined;
        s.cancel();
        this.nextEndpoint++;
        setTimeoutClamped(() => void open(), 200);
      };
      s.on("error", broken);
      s.on("end", broken);
      // A keep-alive at once: the grant may be a while ago after retries, or the last stream stalled.
      lastSent = this.mono();
      ledger.sent(lastSent);
      s.write({ ID: leaseId });
    };
    armLost();
    void open();
    sendTimer = setTimeoutClamped(send, checkMs);
    this.cleanups.add(stop);
    return stop;
  }

  /**
   * Resolves once key is deleted (watching from fromRevision), or lost resolves, or after
   * WAIT_RECHECK_MS: the caller reads again and watches again. The watch goes through the
   * shared client, which may open it on an etcd member that is connected but silent (a
   * stream's opening is no answer, so nothing leaves that member out first), and such a
   * watch would sit unanswered until gRPC's keep-alive drops the connection (~13 s): a
   * read a second bounds how late a campaigner learns that the leader is gone.
   */
  private async waitDeleted(key: Buffer, fromRevision: number, lost: Promise<string>): Promise<void> {
    let stream: Awaited<ReturnType<Etcd3["watchClient"]["watch"]>>;
    try {
      stream = await this.client.watchClient.watch();
    } catch (err) {
      throw new EtcdUnavailableError(this.store.endpoints, "refused a watch of the leader key", { cause: err });
    }
    let recheck: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on("data", (res: IWatchResponse) => {
          if (res.canceled) reject(new Error(`etcd cancelled the watch of ${key.toString("utf8")}: ${res.cancel_reason}`));
          else if (res.events.some((ev) => ev.type === "Delete")) resolve();
        });
        // A broken stream: the caller reads again and watches again.
        stream.on("error", () => resolve());
        stream.on("end", () => resolve());
        void lost.then(() => resolve());
        recheck = setTimeoutClamped(resolve, WAIT_RECHECK_MS);
        stream.write({ create_request: { key, start_revision: fromRevision } });
      });
    } finally {
      clearTimeout(recheck);
      stream.cancel();
    }
  }
}

/**
 * A Store whose writes (put, delete, txn) each carry the leadership's guard; reads and
 * watches pass through. A write after leadership is known lost is refused without asking
 * etcd; one etcd refuses (the leader key is gone or someone else's) also throws
 * NotLeaderError, and in both cases nothing changed.
 */
export function guardStore(store: Store, leadership: Pick<Leadership, "memberId" | "key" | "createRevision" | "isLeader">): Store {
  if (!(store instanceof EtcdStore)) throw new TypeError("a guarded store needs an etcd:// store");
  const guard = {
    key: Buffer.from(leadership.key, "utf8"),
    createRevision: leadership.createRevision,
    writer: `${leadership.memberId} leading@${leadership.createRevision}`,
    refused: () => new NotLeaderError(leadership.memberId, `etcd refused the write: the leader key ${leadership.key} (created at ${leadership.createRevision}) is gone`),
  };
  const txn = (compares: Compare[], ops: Op[]): Promise<TxnResult> => {
    if (!leadership.isLeader()) return Promise.reject(new NotLeaderError(leadership.memberId, "its lease is lost or it resigned"));
    return store.guardedTxn(compares, ops, guard);
  };
  return {
    get: (key) => store.get(key),
    put: async (key, value) => (await txn([], [{ type: "put", key, value }])).revision,
    delete: async (key) => (await txn([], [{ type: "delete", key }])).revision,
    txn,
    scan: (prefix, opts) => store.scan(prefix, opts),
    watch: (prefix, onEvent, opts) => store.watch(prefix, onEvent, opts),
    revision: () => store.revision(),
    // The store is the caller's: closing leadership's view of it leaves it open.
    close: () => Promise.resolve(),
  };
}
