/**
 * The Store on etcd's v3 API (DESIGN.md, "State store"; issue 11), through the `etcd3`
 * client with its own fault handling switched off: its defaults (three retries, then a
 * per-host circuit breaker open for 5 s) made the first write after an etcd leader loss
 * take 7 s. Here every call has a per-attempt deadline and a bounded retry budget, and
 * watches are our own streams that resume from the last revision they delivered (etcd3's
 * Watcher resumes from the response header's revision, which skips history that was not
 * delivered yet).
 *
 * Key space, under a prefix P (default "berth/") so one etcd can hold several fleets:
 *
 *   P d/<user key>   the user's keys and values, exactly as given
 *   P rev            rewritten by every write, so its modRevision is the revision of
 *                    this store's last write; its value names the writer (the member,
 *                    and for a leader's guarded write its term: "c2 leading@41"), so
 *                    etcd's history of this one key says who made each revision
 *
 * Revisions are etcd's. With berth the only writer of the etcd cluster, every write bumps
 * the revision by exactly one, as the Store contract says. On an etcd shared with other
 * writers (other fleets, other programs) revisions still only grow and every compare
 * and watch works, but there are gaps: a berth write can move the revision by more than
 * one. `P rev` is what keeps the rest exact on a shared etcd: revision() is this store's
 * last write (not someone else's), and a watch from a past revision knows its history
 * is complete when it has seen that revision, which it always will, since the key is
 * under P.
 *
 * A write whose attempt failed ambiguously (the member died after it proposed) is retried
 * and may then have been applied twice: for a put that is the same value once more; a
 * txn with compares then fails its compare on its own first write, and the caller sees a
 * conflict and rereads, as after any conflict.
 *
 * A write from the past. An attempt sent to a member behind a cut link is given up after
 * its deadline and retried on another member, but its bytes wait in the kernel's TCP
 * queue, and when the link heals that member receives it and may still apply it —
 * seconds after newer writes of the same key (seen: a member's liveness report 13 s old
 * applied after a heal; the leader then missed a host that had moved since, and judged
 * it down). So every key put without a compare of the caller's carries one: still at
 * this store's own last put of it, when that is the last write of it the store knows
 * of (so a late copy cannot bring back a key deleted since), else not written after the
 * newest revision this store had seen in any answer when it sent the attempt. A late
 * copy then finds its key written (or deleted) since and changes nothing. A put whose
 * key another writer changed is sent again pinned to the revision its failure showed
 * (PIN_ROUNDS attempts in all, then unconditioned, as before): put still means "last
 * writer wins", among the living. Left open: the late copy of an attempt that failed
 * outright (EtcdUnavailableError) still applies if nothing wrote the key since, and
 * the first put of a key this store never wrote can come back after a delete.
 *
 * Values are stored as given. etcd refuses a request larger than its
 * --max-request-bytes (1.5 MiB by default): berth keeps blobs (artifacts) on disk, never
 * in the store.
 */
import { Inflight } from "./inflight.js";
import { isBrokenCircuitError, noop as noopPolicy } from "cockatiel";
import { EndpointPolicies } from "./endpoint-policy.js";
import {
  Etcd3,
  GRPCDeadlineExceededError,
  GRPCInternalError,
  GRPCUnavailableError,
  isRecoverableError,
  type ICompare,
  type IKeyValue,
  type IRequestOp,
  type IResponseHeader,
  type IResponseOp,
  type IWatchResponse,
} from "etcd3";
import type { CallOptions } from "@grpc/grpc-js";
import { setIntervalClamped, setTimeoutClamped } from "../../shared/timer.js";
import { monoMs } from "../../shared/clock.js";
import { plainGrpcDetails } from "../../shared/grpc-details.js";
import { WatchStallJudge } from "./watch-stall.js";
import type { Compare, KeyValue, Op, Store, TxnResult, WatchEvent, WatchOptions, Watcher } from "./store.js";
import { CompactedError, InvalidTxnError, StoreClosedError, StoreUnavailableError } from "./store.js";

export interface EtcdTlsFiles {
  /** PEM of the CA that signed the etcd members' certificates. */
  ca: Buffer;
  /** PEM client certificate and key, for etcd's --client-cert-auth. */
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdStoreOptions {
  /** Client endpoints, "host:port". */
  endpoints: string[];
  /**
   * Every key of this store lives under it, so one etcd can hold several fleets.
   * @default "berth/"
   */
  prefix?: string;
  tls?: EtcdTlsFiles;
  /**
   * Deadline of one attempt of one call. A healthy etcd answers in milliseconds. A
   * request a follower forwarded to a leader that just died is lost without an answer,
   * and the followers notice the loss only after their election timeout (1–2 s with
   * etcd's default 1000 ms): short attempts retried keep the first write after a leader
   * loss near the election time itself (1.5 s attempts made it 3 s).
   * @default 500
   */
  attemptTimeoutMs?: number;
  /**
   * How long one call may take over all its attempts before it fails with
   * EtcdUnavailableError.
   * @default 5000
   */
  callTimeoutMs?: number;
  /**
   * A watch stream quiet this long is asked for its progress; one that then stays
   * silent for watchStallMs is stalled (an etcd member cut off) and reopened on the
   * next endpoint (watch-stall.ts). @default 1000 and 1500
   */
  watchProbeEveryMs?: number;
  watchStallMs?: number;
  /** Receives what a watch callback throws, and a watch that had to end (compacted on resume). */
  onWatchError?: (err: unknown) => void;
}

export const DEFAULT_PREFIX = "berth/";
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 500;
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
export const DEFAULT_WATCH_PROBE_EVERY_MS = 1_000;
export const DEFAULT_WATCH_STALL_MS = 1_500;
/** How many times a put is retried at a fresher revision before it goes unconditioned (see "A write from the past"). */
const PIN_ROUNDS = 5;
/** How many keys' last puts a store remembers (then forgets them all at once). */
const LAST_PUT_KEYS = 100_000;
/** Pause before a retry: doubled each time from the first to the last. */
const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 400;
/** A watch stream that broke is opened again after this, doubled up to the max. */
const WATCH_RETRY_FIRST_MS = 50;
const WATCH_RETRY_MAX_MS = 1_000;
/**
 * gRPC keepalive: a connection to a member that stopped answering (paused, cut off) is
 * dropped. etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time), so
 * this alone takes 13 s: watch streams are also asked for their progress (watch-stall.ts).
 */
const KEEPALIVE_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 3_000;
/** etcd could not be reached, or did not answer within the call's deadline. */
export class EtcdUnavailableError extends StoreUnavailableError {
  constructor(
    readonly endpoints: string[],
    what: string,
    options?: { cause?: unknown },
  ) {
    super(`etcd at ${endpoints.join(",")} ${what}: ${describeCause(options?.cause)}`, options);
    this.name = "EtcdUnavailableError";
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  // grpc-js: "14 UNAVAILABLE: No connection established. Last error: Error: connect
  // ECONNREFUSED 127.0.0.1:1 (timestamp). Resolution note: " — the last error is the news.
  const text = plainGrpcDetails(cause.message.replace(/^\w+Error: /, "").replace(/\s+/g, " ").trim());
  const tls = /certificate|SSL|TLS|handshake/i.test(text) ? " (TLS: check --etcd-ca, --etcd-cert and --etcd-key)" : "";
  return text + tls;
}

/** Errors after which another attempt (maybe on another member) may succeed. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Every endpoint left out for a moment (all found unreachable just now): the next attempt may find one back.
  if (isBrokenCircuitError(err)) return true;
  if (err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError || err instanceof GRPCInternalError) return true;
  if (isRecoverableError(err)) return true;
  const code = (err as { code?: unknown }).code;
  if (code === 14 || code === 4 || code === 13) return true;
  // etcd's own transient refusals, whatever gRPC code they came with.
  return /leader changed|no leader|request timed out|proposal dropped|too many requests/.test(err.message);
}

function noop(): void {}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeoutClamped(resolve, ms));
}

const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");

/** The smallest key after every key starting with prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): etcd's "\0" means "to the end of the key space".
  return Buffer.from([0]);
}

function num(s: string | number | undefined): number {
  const n = Number(s ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`etcd sent a revision that is not a safe integer: ${s}`);
  return n;
}

interface Retry {
  /** Runs one attempt with its call options. */
  <T>(what: string, attempt: (opts: CallOptions) => Promise<T>): Promise<T>;
}

/**
 * The etcd3 client. With several endpoints, `policies` decides which of them each call
 * may go to (endpoint-policy.ts); a client of one endpoint has nowhere else to go.
 */
export function makeClient(opts: EtcdStoreOptions, policies = new EndpointPolicies(minSilentMs(opts))): Etcd3 {
  const scheme = opts.tls ? "https" : "http";
  return new Etcd3({
    hosts: opts.endpoints.map((e) => `${scheme}://${e}`),
    ...(opts.tls
      ? { credentials: { rootCertificate: opts.tls.ca, ...(opts.tls.cert ? { certChain: opts.tls.cert } : {}), ...(opts.tls.key ? { privateKey: opts.tls.key } : {}) } }
      : {}),
    // Our retry loop decides; etcd3's own would stack 3 retries and a 5 s breaker on it.
    // Several endpoints: each has a short breaker of its own, so one that cannot serve is
    // skipped (etcd3 then takes the next endpoint in the same call) instead of picked at random.
    faultHandling: { host: (host) => (opts.endpoints.length > 1 ? policies.policy(host) : noopPolicy), global: noopPolicy },
    grpcOptions: {
      "grpc.keepalive_time_ms": KEEPALIVE_MS,
      "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
      "grpc.keepalive_permit_without_calls": 1,
      // A scan of many keys can exceed grpc's 4 MB default; etcd itself limits requests.
      "grpc.max_receive_message_length": -1,
      // Reconnect soon after a member comes back rather than after grpc's long backoff.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1_000,
    },
  });
}

/** How long an attempt must wait on an endpoint before its deadline counts as that endpoint's silence. */
function minSilentMs(opts: EtcdStoreOptions): number {
  return 0.8 * (opts.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS);
}

/** The bounded retry every call goes through (also used by the election). */
export function makeRetry(endpoints: string[], attemptTimeoutMs: number, callTimeoutMs: number): Retry {
  return async <T>(what: string, attempt: (opts: CallOptions) => Promise<T>): Promise<T> => {
    const start = Date.now();
    let pause = RETRY_FIRST_MS;
    // What an endpoint said last: "every endpoint is left out" says nothing of why (TLS, refused, …).
    let telling: unknown;
    for (;;) {
      const left = callTimeoutMs - (Date.now() - start);
      try {
        return await attempt({ deadline: Date.now() + Math.max(1, Math.min(attemptTimeoutMs, left)) });
      } catch (err) {
        if (!isTransient(err)) throw err;
        if (!isBrokenCircuitError(err)) telling = err;
        if (Date.now() - start + pause >= callTimeoutMs) {
          throw new EtcdUnavailableError(endpoints, `did not answer ${what} within ${callTimeoutMs} ms; last error`, { cause: telling ?? err });
        }
        await delay(pause);
        pause = Math.min(pause * 2, RETRY_MAX_MS);
      }
    }
  };
}

/**
 * An extra compare a guarded write carries (controller/store/election.ts): the leader
 * key must still be the one this member created.
 */
export interface EndpointHealth {
  endpoint: string;
  healthy: boolean;
  /** Why it is not, when it is not. */
  error: string;
  version: string;
  /** This endpoint is etcd's raft leader. */
  isLeader: boolean;
  /** This endpoint knows a raft leader: false when etcd lost its quorum (the endpoint answers, but cannot serve). */
  hasLeader: boolean;
  dbSizeBytes: number;
}

export interface WriteGuard {
  /** The raw etcd key (not under the store's data prefix). */
  key: Buffer;
  /** Recorded as the writer in `P rev` (see the top of this file). */
  writer?: string;
  createRevision: number;
  /** Thrown when the guard fails (the write changed nothing). */
  refused: () => Error;
}

export class EtcdStore implements Store {
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly inflight = new Inflight();
  /** Tail of the write queue: each write starts when the one before it has settled. */
  private writeTail: Promise<void> = Promise.resolve();
  private readonly watches = new Set<EtcdWatch>();
  /** The newest etcd revision this store has seen in an answer: what a put of a key not in lastPut is conditioned on (see "A write from the past"). */
  private seenRevision = 0;
  /** Keys this store put without a caller's compare, at the revision of that put while no other write of theirs is known: what their next put is conditioned on. */
  private readonly lastPut = new Map<string, number>();
  private readonly dataPrefix: Buffer;
  private readonly revKey: Buffer;
  readonly retry: Retry;

  constructor(
    readonly client: Etcd3,
    readonly endpoints: string[],
    readonly prefix: string,
    readonly attemptTimeoutMs: number,
    readonly callTimeoutMs: number,
    readonly onWatchError: (err: unknown) => void,
  ) {
    this.dataPrefix = utf8(prefix + "d/");
    this.revKey = utf8(prefix + "rev");
    // Calls started before close() still finish (the contract), so close never cuts a retry short.
    this.retry = makeRetry(endpoints, attemptTimeoutMs, callTimeoutMs);
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.track(async () => {
      const res = await this.retry("a read", (o) => this.client.kv.range({ key: this.dataKey(key) }, o));
      this.see(num(res.header.revision));
      const kv = res.kvs[0];
      return kv === undefined ? undefined : this.decode(kv);
    });
  }

  async put(key: string, value: string): Promise<number> {
    return (await this.txn([], [{ type: "put", key, value }])).revision;
  }

  async delete(key: string): Promise<number> {
    return (await this.txn([], [{ type: "delete", key }])).revision;
  }

  txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    return this.guardedTxn(compares, ops, undefined);
  }

  /**
   * Who writes through this store (a member's name), recorded in `P rev` with every
   * write: etcd's history then tells which member made each revision.
   */
  writer = "";

  /** One client per endpoint for probe() and watch streams, made on first use, closed with the store. */
  private probeClients: Map<string, Etcd3> | undefined;

  private endpointClients(): Map<string, Etcd3> {
    this.probeClients ??= new Map(this.endpoints.map((e) => [e, makeClient({ ...(this.connectOptions ?? { endpoints: [] }), endpoints: [e] })]));
    return this.probeClients;
  }

  /**
   * One client per endpoint (the probe's): for a call that may be sent to every endpoint at
   * once and taken from the first to answer, as a lease keep-alive may (member/group.ts).
   */
  clientsPerEndpoint(): Etcd3[] {
    return [...this.endpointClients().values()];
  }

  /**
   * The client a watch stream is opened on: endpoint i's own (modulo their number), so a
   * stream that stalled is reopened on the next endpoint, never at random on the same
   * one again; the shared client when the store was made without its options (tests).
   */
  watchClientFor(i: number): { client: Etcd3; endpoint: string } {
    if (!this.connectOptions || this.endpoints.length < 2) return { client: this.client, endpoint: this.endpoints.join(",") };
    const all = [...this.endpointClients()];
    const [endpoint, client] = all[((i % all.length) + all.length) % all.length]!;
    return { client, endpoint };
  }

  /** watchProbeEveryMs and watchStallMs (EtcdStoreOptions). */
  get watchStallTimes(): { everyMs: number; stallMs: number } {
    return { everyMs: this.connectOptions?.watchProbeEveryMs ?? DEFAULT_WATCH_PROBE_EVERY_MS, stallMs: this.connectOptions?.watchStallMs ?? DEFAULT_WATCH_STALL_MS };
  }

  /**
   * Whether etcd can serve, within timeoutMs: a linearizable read (which etcd answers only
   * with its quorum) sent to every endpoint at once, each on a client of its own — the
   * shared client picks one endpoint per attempt, and an attempt on an endpoint that is
   * cut off waits out its whole deadline, so one unreachable member of three would fail
   * probes that the other two answer at once. Resolves when any endpoint answers; rejects
   * with EtcdUnavailableError naming each endpoint's error. Judges a member's store
   * health (member/store-monitor.ts).
   */
  probe(timeoutMs: number): Promise<void> {
    return this.track(async () => {
      const clients = this.endpointClients();
      const deadline = Date.now() + timeoutMs;
      try {
        await Promise.any([...clients].map(([e, c]) => c.kv.range({ key: this.revKey }, { deadline }).catch((err: unknown) => Promise.reject(new Error(`${e}: ${describeCause(err)}`)))));
      } catch (err) {
        const why = err instanceof AggregateError ? err.errors.map((x: unknown) => (x instanceof Error ? x.message : String(x))).join("; ") : String(err);
        throw new EtcdUnavailableError(this.endpoints, `did not answer a health check within ${timeoutMs} ms`, { cause: new Error(why) });
      }
    });
  }

  /** How the client was made (openEtcdStore): endpointHealth asks each endpoint alone. */
  connectOptions: EtcdStoreOptions | undefined;
  /** Which endpoints the shared client leaves out, and what each did (openEtcdStore). */
  endpointPolicies: EndpointPolicies | undefined;

  /**
   * Each endpoint's own answer to a status call (a client of its own, one attempt
   * with the attempt deadline): whether it answers, its version, whether it is etcd's
   * raft leader, and its database size — `berth controllers` shows these.
   */
  async endpointHealth(): Promise<EndpointHealth[]> {
    return Promise.all(
      this.endpoints.map(async (endpoint): Promise<EndpointHealth> => {
        const client = makeClient({ ...(this.connectOptions ?? { endpoints: [] }), endpoints: [endpoint] });
        try {
          const st = await client.maintenance.status({ deadline: Date.now() + Math.max(this.attemptTimeoutMs, 1_000) });
          // A member without a raft leader still answers Status: healthy means it can serve.
          const hasLeader = String(st.leader) !== "0";
          return {
            endpoint,
            healthy: hasLeader,
            error: hasLeader ? "" : "answers, but has no raft leader (etcd has lost its quorum)",
            version: st.version,
            isLeader: hasLeader && st.leader === st.header.member_id,
            hasLeader,
            dbSizeBytes: Number(st.dbSize),
          };
        } catch (err) {
          return { endpoint, healthy: false, error: describeCause(err), version: "", isLeader: false, hasLeader: false, dbSizeBytes: 0 };
        } finally {
          client.close();
        }
      }),
    );
  }

  /** txn, and in the same etcd transaction the guard's compare: a failed guard applies nothing. */
  guardedTxn(compares: Compare[], ops: Op[], guard: WriteGuard | undefined): Promise<TxnResult> {
    return this.write(async () => {
      const seen = new Set<string>();
      for (const op of ops) {
        if (seen.has(op.key)) throw new InvalidTxnError(`key ${JSON.stringify(op.key)} appears in more than one op`);
        seen.add(op.key);
      }
      const userCompares: ICompare[] = compares.map((c) => ({ key: this.dataKey(c.key), target: "Mod", result: "Equal", mod_revision: c.modRevision }));
      const comparedKeys = [...new Set(compares.map((c) => c.key))];
      const hasPut = ops.some((op) => op.type === "put");
      const deleted = ops.filter((op) => op.type === "delete").map((op) => op.key);
      // A txn of puts always changes something; one of deletes only does if a key it
      // deletes exists. As in etcd, a txn that changes nothing must make no revision,
      // so `P rev` is rewritten only when something changes: for deletes alone we read
      // which keys exist and make the txn conditional on that still being so (a guard
      // that failed alone means a concurrent write; read again).
      // Every key put without a compare of the caller's is put only if it was not written
      // after the newest revision this store had seen (see "A write from the past" above).
      const pinned = [...new Set(ops.filter((op) => op.type === "put" && !comparedKeys.includes(op.key)).map((op) => op.key))];
      for (let round = 1; ; round++) {
        let guards: { key: string; modRevision: number }[] = [];
        if (!hasPut && deleted.length > 0) {
          const current = await this.readMany(deleted);
          guards = deleted.map((key, i) => ({ key, modRevision: current[i]?.modRevision ?? 0 }));
        }
        // Past PIN_ROUNDS (another writer changing the key each time) the put goes as it always did.
        const pins = round > PIN_ROUNDS ? [] : pinned;
        const seenRevision = this.seenRevision;
        const pinOf = (key: string): ICompare => {
          const mine = this.lastPut.get(key);
          // Still our own last write of it: exactly that (a delete since makes it 0, so a late copy cannot bring the key back).
          if (mine !== undefined) return { key: this.dataKey(key), target: "Mod", result: "Equal", mod_revision: mine };
          // Else not written after the newest revision this store had seen when it sent this.
          return { key: this.dataKey(key), target: "Mod", result: "Less", mod_revision: seenRevision + 1 };
        };
        const changes = hasPut || guards.some((g) => g.modRevision > 0);
        const success: IRequestOp[] = [{ request_range: { key: this.revKey } }];
        if (changes) {
          for (const op of ops) {
            if (op.type === "put") success.push({ request_put: { key: this.dataKey(op.key), value: utf8(op.value) } });
            else success.push({ request_delete_range: { key: this.dataKey(op.key) } });
          }
          success.push({ request_put: { key: this.revKey, value: utf8(guard?.writer ?? this.writer) } });
        }
        const guardKeys = guards.map((g) => g.key).filter((k) => !comparedKeys.includes(k));
        const failure: IRequestOp[] = [{ request_range: { key: this.revKey } }, ...[...comparedKeys, ...guardKeys].map((k) => ({ request_range: { key: this.dataKey(k) } }))];
        if (guard) failure.push({ request_range: { key: guard.key } });
        const compare: ICompare[] = [
          ...userCompares,
          ...guards.map((g): ICompare => ({ key: this.dataKey(g.key), target: "Mod", result: "Equal", mod_revision: g.modRevision })),
          ...(guard ? [{ key: guard.key, target: "Create", result: "Equal", create_revision: guard.createRevision } satisfies ICompare] : []),
          ...pins.map(pinOf),
        ];
        let res: Awaited<ReturnType<Etcd3["kv"]["txn"]>>;
        try {
          res = await this.retry("a write", (o) => this.client.kv.txn({ compare, success, failure }, o));
        } catch (err) {
          // Applied or not, unknown: these keys are no longer known to be at our last write.
          for (const k of pinned) this.lastPut.delete(k);
          throw err;
        }
        this.see(num(res.header.revision));
        const revBefore = this.revisionFrom(res.responses[0], res.header);
        if (res.succeeded) {
          if (changes) {
            for (const k of pinned) this.rememberPut(k, num(res.header.revision));
            for (const k of deleted) this.lastPut.delete(k);
          }
          return { succeeded: true, revision: changes ? num(res.header.revision) : revBefore, failed: [] };
        }
        // Someone else wrote a pinned key (or a compare of the caller's failed): not ours any more.
        for (const k of pinned) this.lastPut.delete(k);
        if (guard && num(res.responses.at(-1)?.response_range.kvs[0]?.create_revision) !== guard.createRevision) throw guard.refused();

        const modOf = new Map<string, number>();
        [...comparedKeys, ...guardKeys].forEach((k, i) => modOf.set(k, num(res.responses[i + 1]?.response_range.kvs[0]?.mod_revision)));
        const failed: string[] = [];
        for (const c of compares) if (modOf.get(c.key) !== c.modRevision && !failed.includes(c.key)) failed.push(c.key);
        if (failed.length > 0) return { succeeded: false, revision: revBefore, failed };
        // Only a guard failed: a key we delete was created or removed meanwhile, or a key we
        // put was written since the revision we had seen (by another writer: put again, at
        // the revision this failure showed).
      }
    });
  }

  scan(prefix: string, opts: { limit?: number; reverse?: boolean } = {}): Promise<KeyValue[]> {
    return this.track(async () => {
      const { limit, reverse = false } = opts;
      if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
        throw new RangeError(`scan limit must be a positive integer, got ${limit}`);
      }
      const key = this.dataKey(prefix);
      const res = await this.retry("a scan", (o) =>
        this.client.kv.range({ key, range_end: prefixEnd(key), limit: limit ?? 0, sort_order: reverse ? "Descend" : "None", sort_target: "Key" }, o),
      );
      this.see(num(res.header.revision));
      return res.kvs.map((kv) => this.decode(kv));
    });
  }

  watch(prefix: string, onEvent: (ev: WatchEvent) => void, opts: WatchOptions = {}): Promise<Watcher> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    const { fromRevision } = opts;
    if (fromRevision !== undefined && !(Number.isSafeInteger(fromRevision) && fromRevision >= 0)) {
      return Promise.reject(new RangeError(`fromRevision must be a non-negative integer, got ${fromRevision}`));
    }
    return this.track(async () => {
      // Read before the stream opens: every write acknowledged before this call is at
      // or below it, so "history delivered" means "delivered up to here".
      // Without a write of this store yet there is no history to wait for.
      const upTo = fromRevision === undefined ? undefined : (await this.lastWrite()).revision;
      if (this.closed) throw new StoreClosedError();
      const w = new EtcdWatch(this, utf8(this.prefix + "d/" + prefix), onEvent, fromRevision, upTo);
      this.watches.add(w);
      try {
        await w.ready;
      } catch (err) {
        w.close();
        throw err;
      }
      return { close: () => w.close() };
    });
  }

  revision(): Promise<number> {
    return this.track(() => this.currentRevision());
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      // Watches first: a watch still waiting for its history rejects now rather than
      // hold close() until its deadline.
      for (const w of [...this.watches]) w.close();
      await this.inflight.settled();
      this.client.close();
      for (const c of this.probeClients?.values() ?? []) c.close();
    })();
    return this.closing;
  }

  /** For EtcdWatch: forget a watch that ended. */
  forget(w: EtcdWatch): void {
    this.watches.delete(w);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The store revision: this store's last write, or etcd's revision if it never wrote. */
  private async currentRevision(): Promise<number> {
    const { revision, etcdRevision } = await this.lastWrite();
    return revision ?? etcdRevision;
  }

  /** The revision of this store's last write (undefined before its first), and etcd's own. */
  private async lastWrite(): Promise<{ revision: number | undefined; etcdRevision: number }> {
    const res = await this.retry("a read", (o) => this.client.kv.range({ key: this.revKey }, o));
    this.see(num(res.header.revision));
    const kv = res.kvs[0];
    return { revision: kv === undefined ? undefined : num(kv.mod_revision), etcdRevision: num(res.header.revision) };
  }

  private rememberPut(key: string, revision: number): void {
    // Bounded: a key forgotten is pinned by seenRevision instead.
    if (this.lastPut.size >= LAST_PUT_KEYS && !this.lastPut.has(key)) this.lastPut.clear();
    this.lastPut.set(key, revision);
  }

  /** A revision etcd answered with (a response, a watch's): seenRevision only grows. */
  see(revision: number): void {
    if (revision > this.seenRevision) this.seenRevision = revision;
  }

  private revisionFrom(op: IResponseOp | undefined, header: IResponseHeader): number {
    const kv = op?.response_range.kvs[0];
    return kv === undefined ? num(header.revision) : num(kv.mod_revision);
  }

  private async readMany(keys: string[]): Promise<(KeyValue | undefined)[]> {
    // One txn of ranges: every key read at the same revision.
    const res = await this.retry("a read", (o) => this.client.kv.txn({ success: keys.map((k) => ({ request_range: { key: this.dataKey(k) } })) }, o));
    this.see(num(res.header.revision));
    return res.responses.map((r) => {
      const kv = r.response_range.kvs[0];
      return kv === undefined ? undefined : this.decode(kv);
    });
  }

  private dataKey(key: string): Buffer {
    return Buffer.concat([this.dataPrefix, utf8(key)]);
  }

  decode(kv: IKeyValue): KeyValue {
    return {
      key: kv.key.subarray(this.dataPrefix.length).toString("utf8"),
      value: kv.value.toString("utf8"),
      createRevision: num(kv.create_revision),
      modRevision: num(kv.mod_revision),
    };
  }

  /**
   * One write at a time, in call order: etcd applies concurrent requests in whatever
   * order they reach the leader, and callers (and the contract) expect a store's writes
   * to take revisions in the order they were made.
   */
  private write<T>(op: () => Promise<T>): Promise<T> {
    return this.track(() => {
      const run = this.writeTail.then(op);
      this.writeTail = run.then(noop, noop);
      return run;
    });
  }

  private track<T>(op: () => Promise<T>): Promise<T> {
    return this.inflight.track(this.closed, op);
  }
}

type Stream = Awaited<ReturnType<Etcd3["watchClient"]["watch"]>>;

/**
 * One watch on its own etcd watch stream. It watches all of the store's data keys and
 * filters by the user's prefix itself, so the one stream also carries `P rev`, whose
 * event marks the end of a requested history. After a broken stream it opens a new one
 * from the revision after the last it delivered, so nothing is lost or repeated.
 */
class EtcdWatch {
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: unknown) => void;
  private isReady = false;
  private closed = false;
  private stream: Stream | undefined;
  /** Every revision <= this has been delivered (or had nothing for us). */
  private last: number;
  private pause = WATCH_RETRY_FIRST_MS;
  private readonly range: { key: Buffer; end: Buffer };
  /** The endpoint the next stream opens on (EtcdStore.watchClientFor): a random start spreads the watches, each break moves on one. */
  private endpointIndex = Math.floor(Math.random() * 1024);
  /** Checks the open stream for a stall (watch-stall.ts). */
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: EtcdStore,
    private readonly userPrefix: Buffer,
    private readonly onEvent: (ev: WatchEvent) => void,
    fromRevision: number | undefined,
    /** History ends here: ready once every revision up to it is delivered. */
    private readonly upTo: number | undefined,
  ) {
    // Everything under P: data and `P rev`.
    const p = utf8(store.prefix);
    this.range = { key: p, end: prefixEnd(p) };
    this.last = fromRevision === undefined ? -1 : Math.max(fromRevision, 1) - 1;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // The ready promise may be rejected after nobody awaits it any more (closed).
    this.ready.catch(() => {});
    const deadline = setTimeoutClamped(() => {
      if (!this.isReady) this.fail(new EtcdUnavailableError(store.endpoints, `did not start a watch within ${store.callTimeoutMs} ms`, { cause: this.lastError }));
    }, store.callTimeoutMs);
    void this.ready.then(
      () => clearTimeout(deadline),
      () => clearTimeout(deadline),
    );
    void this.open();
  }

  private lastError: unknown = "no answer";

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.forget(this);
    this.rejectReady(new StoreClosedError());
    const s = this.stream;
    this.stream = undefined;
    clearInterval(this.stallTimer);
    // Cancelled, not ended: etcd3 treats CANCELLED as ours, not as a member failure.
    s?.cancel();
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    if (this.isReady) this.store.onWatchError(err);
    else this.rejectReady(err);
    this.close();
  }

  private async open(): Promise<void> {
    if (this.closed || this.store.isClosed) return;
    let stream: Stream;
    const on = this.store.watchClientFor(this.endpointIndex);
    try {
      stream = await on.client.watchClient.watch();
    } catch (err) {
      this.endpointIndex++;
      this.lastError = err;
      this.reconnectLater();
      return;
    }
    if (this.closed) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    let broken = false;
    const onBroken = (err: unknown): void => {
      if (broken || this.stream !== stream) return;
      broken = true;
      this.lastError = err;
      this.stream = undefined;
      clearInterval(this.stallTimer);
      this.endpointIndex++;
      stream.cancel();
      this.reconnectLater();
    };
    const { everyMs, stallMs } = this.store.watchStallTimes;
    const judge = new WatchStallJudge(monoMs(), everyMs, stallMs);
    clearInterval(this.stallTimer);
    this.stallTimer = setIntervalClamped(() => {
      if (this.stream !== stream) return;
      const v = judge.verdict(monoMs());
      if (v === "probe") {
        judge.probed(monoMs());
        stream.write({ progress_request: {} });
      } else if (v === "stalled") {
        // An answer waiting in the I/O queue behind a busy event loop is read first.
        setImmediate(() => {
          if (judge.verdict(monoMs()) === "stalled") onBroken(new Error(`the watch stream on ${on.endpoint} stalled: no answer to a progress request within ${stallMs} ms`));
        });
      }
    }, Math.max(50, Math.floor(Math.min(everyMs, stallMs) / 4)));
    this.stallTimer.unref();
    stream.on("data", (res: IWatchResponse) => {
      if (this.stream !== stream) return;
      judge.heard(monoMs());
      // What other members wrote reaches this store through its watches: a put of a key one of them wrote then goes through at its first try.
      if (res.header) this.store.see(num(res.header.revision));
      try {
        this.handle(res);
      } catch (err) {
        this.fail(err);
      }
    });
    stream.on("error", onBroken);
    stream.on("end", () => onBroken(new Error("etcd ended the watch stream")));
    stream.write({
      create_request: {
        key: this.range.key,
        range_end: this.range.end,
        // -1: a live watch not yet created starts at etcd's next revision.
        ...(this.last >= 0 ? { start_revision: this.last + 1 } : {}),
      },
    });
  }

  private reconnectLater(): void {
    if (this.closed || this.store.isClosed) return;
    const wait = this.pause;
    this.pause = Math.min(this.pause * 2, WATCH_RETRY_MAX_MS);
    setTimeoutClamped(() => void this.open(), wait);
  }

  private handle(res: IWatchResponse): void {
    if (this.closed) return;
    if (res.canceled) {
      const compacted = num(res.compact_revision);
      if (compacted > 0) this.fail(new CompactedError(this.last + 1, compacted));
      else this.fail(new EtcdUnavailableError(this.store.endpoints, "cancelled a watch", { cause: new Error(res.cancel_reason || "no reason given") }));
      return;
    }
    if (res.created) {
      this.pause = WATCH_RETRY_FIRST_MS;
      // A live watch follows from etcd's revision at creation on; it is in place now.
      if (this.last < 0) this.last = num(res.header.revision);
      this.checkReady();
      return;
    }
    const before = this.last;
    for (const ev of res.events) {
      const revision = num(ev.kv.mod_revision);
      // Already delivered before a reconnect.
      if (revision <= before) continue;
      if (revision > this.last) this.last = revision;
      const key = ev.kv.key;
      if (key.length < this.userPrefix.length || !key.subarray(0, this.userPrefix.length).equals(this.userPrefix)) continue;
      const wev: WatchEvent =
        ev.type === "Put" ? { type: "put", kv: this.store.decode(ev.kv), revision } : { type: "delete", key: this.store.decode(ev.kv).key, revision };
      try {
        this.onEvent(wev);
      } catch (err) {
        this.store.onWatchError(err);
      }
      if (this.closed) return;
    }
    this.checkReady();
  }

  private checkReady(): void {
    if (this.isReady || this.last < 0) return;
    if (this.upTo === undefined || this.last >= this.upTo) {
      this.isReady = true;
      this.resolveReady();
    }
  }
}

/**
 * Connects to etcd and checks that it answers (a read with the call deadline), so a
 * controller given an unreachable or misconfigured etcd fails at once, saying so.
 */
export async function openEtcdStore(opts: EtcdStoreOptions): Promise<Store> {
  const { endpoints, prefix = DEFAULT_PREFIX, attemptTimeoutMs = DEFAULT_ATTEMPT_TIMEOUT_MS, callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS } = opts;
  if (endpoints.length === 0) throw new RangeError("etcd store: no endpoints given");
  if (prefix === "") throw new RangeError("etcd store: the key prefix must not be empty");
  const policies = new EndpointPolicies(minSilentMs(opts));
  const client = makeClient(opts, policies);
  const store = new EtcdStore(client, endpoints, prefix, attemptTimeoutMs, callTimeoutMs, opts.onWatchError ?? (() => {}));
  store.connectOptions = opts;
  store.endpointPolicies = policies;
  try {
    await store.revision();
  } catch (err) {
    client.close();
    if (err instanceof EtcdUnavailableError) throw err;
    throw new EtcdUnavailableError(endpoints, "refused the first read", { cause: err });
  }
  return store;
}
