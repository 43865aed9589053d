/**
 * The embedded Store: LevelDB through `level` (classic-level), in the controller's data
 * dir (DESIGN.md, "State store").
 *
 * Key space. LevelDB has one flat, byte-ordered key space; ours is split by a one-letter
 * prefix so no user key can ever collide with bookkeeping:
 *
 *   d/<user key>    → {"v": value, "c": createRevision, "m": modRevision}
 *   l/<revision>    → the changes made at that revision (the watch history), revision
 *                     zero-padded to 16 digits so byte order is numeric order
 *   m/revision      → the store revision
 *   m/compacted     → every revision <= this has been dropped from the log
 *   m/format        → layout version, so a future layout can refuse to misread this one
 *
 * Every write is ONE LevelDB batch holding the data, the log entry, the new revision and
 * any compaction, so a crash at any point leaves either all or none of it on disk.
 */
import { Inflight } from "./inflight.js";
import { mkdir, realpath } from "node:fs/promises";
import { Level } from "level";
import type { Compare, KeyValue, Op, Store, TxnResult, WatchEvent, WatchOptions, Watcher } from "./store.js";
import { CompactedError, InvalidTxnError, StoreClosedError } from "./store.js";
import { causeChain, causeText } from "./disk-error.js";

export interface LevelStoreOptions {
  /**
   * How many revisions of change history to keep for `watch({ fromRevision })`. Older
   * ones are dropped as new ones are written; a watch from before them fails with
   * CompactedError.
   * @default 10000
   */
  historyLimit?: number;
  /**
   * Fsync every write before acknowledging it. With `false` an acknowledged write
   * survives a crash of the process (it is in the OS page cache) but not of the OS.
   * @default true
   */
  sync?: boolean;
  /**
   * Receives whatever a watch callback throws. A callback runs inside the write path,
   * so its error must not fail the write that triggered it nor stop other watchers;
   * without this option such errors are dropped.
   */
  onWatchError?: (err: unknown) => void;
}

export const DEFAULT_HISTORY_LIMIT = 10_000;

/** The data dir is already open, in this process or another (LevelDB's LOCK file). */
export class StoreLockedError extends Error {
  constructor(
    readonly dir: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`state store ${dir} is already open ${detail}`, options);
    this.name = "StoreLockedError";
  }
}

/** Something on disk is not what this code wrote: refuse rather than guess. */
export class StoreCorruptError extends Error {
  constructor(
    readonly dir: string,
    detail: string,
  ) {
    super(`state store ${dir} is corrupt or of an unknown layout: ${detail}`);
    this.name = "StoreCorruptError";
  }
}

// Shared by every backend; re-exported where it was first defined.
export { InvalidTxnError } from "./store.js";

const DATA = "d/";
const LOG = "l/";
const META_REVISION = "m/revision";
const META_COMPACTED = "m/compacted";
const META_FORMAT = "m/format";
const FORMAT = "1";
/** Number.MAX_SAFE_INTEGER has 16 digits, so 16 keeps every revision the same width. */
const REVISION_WIDTH = 16;
/** Log entries read per round trip while replaying history. */
const REPLAY_BATCH = 256;
/** Never a byte of UTF-8, so "d/<prefix>" + 0xff bounds every key starting with prefix. */
const AFTER_UTF8 = Buffer.from([0xff]);

/**
 * LevelDB's LOCK only stops a second open through the same path string within one
 * process (fcntl locks never conflict inside a process), so we also keep the real paths
 * this process has open.
 */
const openDirs = new Set<string>();

type Change = { type: "put"; kv: KeyValue } | { type: "delete"; key: string };

type BatchOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

interface WatchState {
  prefix: string;
  onEvent: (ev: WatchEvent) => void;
  /** Revisions below this are not delivered (fromRevision). */
  minRevision: number;
  /** Highest revision delivered (or skipped); anything <= this is a duplicate. */
  lastRevision: number;
  /** While history is replayed, live changes wait here so none is lost or reordered. */
  replaying: boolean;
  buffer: { revision: number; changes: Change[] }[];
  closed: boolean;
}

function logKey(revision: number): string {
  return LOG + String(revision).padStart(REVISION_WIDTH, "0");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isRevision(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isLockedError(err: unknown): boolean {
  // abstract-level wraps the binding's LEVEL_LOCKED error in LEVEL_DATABASE_NOT_OPEN.
  return causeChain(err).some((e) => e.code === "LEVEL_LOCKED");
}

function noop(): void {}

class LevelStore implements Store {
  private rev: number;
  private compacted: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Tail of the write queue: each write starts when the one before it has settled. */
  private writeTail: Promise<void> = Promise.resolve();
  /** Operations close() must let finish before it closes the database. */
  private readonly inflight = new Inflight();
  private readonly watchers = new Set<WatchState>();

  constructor(
    private readonly db: Level<string, string>,
    private readonly dir: string,
    private readonly realDir: string,
    state: { revision: number; compacted: number },
    private readonly historyLimit: number,
    private readonly sync: boolean,
    private readonly onWatchError: (err: unknown) => void,
  ) {
    this.rev = state.revision;
    this.compacted = state.compacted;
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.track(async () => {
      const raw: string | undefined = await this.db.get(DATA + key);
      return raw === undefined ? undefined : this.decodeKv(key, raw);
    });
  }

  put(key: string, value: string): Promise<number> {
    return this.write(async () => {
      const [existing] = await this.readKvs([key]);
      const revision = this.rev + 1;
      const kv: KeyValue = { key, value, createRevision: existing?.createRevision ?? revision, modRevision: revision };
      await this.commit(revision, [{ type: "put", kv }]);
      return revision;
    });
  }

  delete(key: string): Promise<number> {
    return this.write(async () => {
      const [existing] = await this.readKvs([key]);
      // etcd semantics: deleting nothing is not a change, so it makes no revision.
      if (existing === undefined) return this.rev;
      const revision = this.rev + 1;
      await this.commit(revision, [{ type: "delete", key }]);
      return revision;
    });
  }

  txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    return this.write(async () => {
      const seen = new Set<string>();
      for (const op of ops) {
        if (seen.has(op.key)) throw new InvalidTxnError(`key ${JSON.stringify(op.key)} appears in more than one op`);
        seen.add(op.key);
      }
      const keys = [...new Set([...compares.map((c) => c.key), ...seen])];
      const values = await this.readKvs(keys);
      const current = new Map(keys.map((k, i) => [k, values[i]]));

      const failed: string[] = [];
      for (const c of compares) {
        const modRevision = current.get(c.key)?.modRevision ?? 0;
        if (modRevision !== c.modRevision && !failed.includes(c.key)) failed.push(c.key);
      }
      if (failed.length > 0) return { succeeded: false, revision: this.rev, failed };

      const revision = this.rev + 1;
      const changes: Change[] = [];
      for (const op of ops) {
        const existing = current.get(op.key);
        switch (op.type) {
          case "put":
            changes.push({
              type: "put",
              kv: { key: op.key, value: op.value, createRevision: existing?.createRevision ?? revision, modRevision: revision },
            });
            break;
          case "delete":
            if (existing !== undefined) changes.push({ type: "delete", key: op.key });
            break;
          default:
            return assertNever(op);
        }
      }
      // Like delete of a missing key (and like etcd): a txn that changes nothing makes no
      // revision, so every revision in the history is a real change.
      if (changes.length === 0) return { succeeded: true, revision: this.rev, failed: [] };
      await this.commit(revision, changes);
      return { succeeded: true, revision, failed: [] };
    });
  }

  scan(prefix: string, opts: { limit?: number; reverse?: boolean } = {}): Promise<KeyValue[]> {
    return this.track(async () => {
      const { limit, reverse = false } = opts;
      if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
        throw new RangeError(`scan limit must be a positive integer, got ${limit}`);
      }
      // Bounds as bytes: LevelDB orders keys by their UTF-8 bytes, and no string bound
      // sorts after every string that starts with prefix.
      const gte = Buffer.from(DATA + prefix, "utf8");
      const lt = Buffer.concat([gte, AFTER_UTF8]);
      const entries = await this.db
        .iterator<Buffer, string>({ gte, lt, reverse, limit: limit ?? -1, keyEncoding: "buffer", valueEncoding: "utf8" })
        .all();
      return entries.map(([k, v]) => this.decodeKv(k.subarray(DATA.length).toString("utf8"), v));
    });
  }

  watch(prefix: string, onEvent: (ev: WatchEvent) => void, opts: WatchOptions = {}): Promise<Watcher> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    const { fromRevision } = opts;
    if (fromRevision !== undefined && !isRevision(fromRevision)) {
      return Promise.reject(new RangeError(`fromRevision must be a non-negative integer, got ${fromRevision}`));
    }
    const w: WatchState = {
      prefix,
      onEvent,
      minRevision: fromRevision ?? 0,
      lastRevision: 0,
      replaying: fromRevision !== undefined,
      buffer: [],
      closed: false,
    };
    const watcher: Watcher = {
      close: () => {
        w.closed = true;
        w.buffer = [];
        this.watchers.delete(w);
      },
    };
    // Registered before anything else so every write acknowledged from now on reaches
    // it (live, or buffered while replaying).
    this.watchers.add(w);
    if (fromRevision === undefined) return Promise.resolve(watcher);

    // Taken in the same tick as the registration: a write is either in this snapshot
    // (replayed) or acknowledged after it, hence dispatched after the registration
    // (buffered). Writes in both are told apart by revision; none can be in neither.
    let snapshot: ReturnType<Level<string, string>["snapshot"]>;
    try {
      snapshot = this.db.snapshot();
    } catch (err) {
      watcher.close();
      return Promise.reject(err);
    }
    return this.track(async () => {
      try {
        const compacted = this.decodeRevision(META_COMPACTED, await this.db.get(META_COMPACTED, { snapshot }));
        if (fromRevision <= compacted) throw new CompactedError(fromRevision, compacted + 1);
        const it = this.db.iterator({ gte: logKey(fromRevision), lt: LOG + "~", snapshot });
        try {
          while (!w.closed) {
            const entries = await it.nextv(REPLAY_BATCH);
            if (this.closed) throw new StoreClosedError();
            if (entries.length === 0) break;
            for (const [k, v] of entries) this.deliver(w, this.decodeLogRevision(k), this.decodeChanges(k, v));
          }
        } finally {
          await it.close();
        }
        if (this.closed) throw new StoreClosedError();
        // No await between here and the end of the drain: nothing can be dispatched
        // while we switch from buffered to live.
        const buffered = w.buffer;
        w.buffer = [];
        w.replaying = false;
        for (const b of buffered) this.deliver(w, b.revision, b.changes);
        return watcher;
      } catch (err) {
        watcher.close();
        throw err;
      } finally {
        await snapshot.close();
      }
    });
  }

  revision(): Promise<number> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return Promise.resolve(this.rev);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      // Writes already accepted finish (their callers were not told otherwise); replays
      // notice `closed` and stop.
      await this.inflight.settled();
      for (const w of this.watchers) w.closed = true;
      this.watchers.clear();
      try {
        await this.db.close();
      } finally {
        openDirs.delete(this.realDir);
      }
    })();
    return this.closing;
  }

  /** Runs op unless the store is closed, and lets close() wait for it. */
  private track<T>(op: () => Promise<T>): Promise<T> {
    return this.inflight.track(this.closed, op);
  }

  /**
   * Serializes writes: a txn reads its compares and commits with no other write in
   * between, which is what makes compare-and-set atomic within this process (and the
   * LOCK keeps other processes out).
   */
  private write<T>(op: () => Promise<T>): Promise<T> {
    return this.track(() => {
      const run = this.writeTail.then(op);
      this.writeTail = run.then(noop, noop);
      return run;
    });
  }

  private async readKvs(keys: string[]): Promise<(KeyValue | undefined)[]> {
    if (keys.length === 0) return [];
    const raws: (string | undefined)[] = await this.db.getMany(keys.map((k) => DATA + k));
    return raws.map((raw, i) => (raw === undefined ? undefined : this.decodeKv(keys[i] ?? "", raw)));
  }

  /** Writes one revision atomically and durably, then tells the watchers. */
  private async commit(revision: number, changes: Change[]): Promise<void> {
    const batch: BatchOp[] = [];
    for (const c of changes) {
      if (c.type === "put") {
        const { value: v, createRevision: cr, modRevision: m } = c.kv;
        batch.push({ type: "put", key: DATA + c.kv.key, value: JSON.stringify({ v, c: cr, m }) });
      } else {
        batch.push({ type: "del", key: DATA + c.key });
      }
    }
    batch.push({ type: "put", key: logKey(revision), value: encodeChanges(changes) });
    batch.push({ type: "put", key: META_REVISION, value: String(revision) });
    // The log holds revisions compacted+1 … revision; keep that to historyLimit. One
    // revision in means at most one out, since the invariant held before this write.
    let compacted = this.compacted;
    if (revision - compacted > this.historyLimit) {
      compacted += 1;
      batch.push({ type: "del", key: logKey(compacted) });
      batch.push({ type: "put", key: META_COMPACTED, value: String(compacted) });
    }
    await this.db.batch(batch, { sync: this.sync });
    this.rev = revision;
    this.compacted = compacted;
    this.dispatch(revision, changes);
  }

  private dispatch(revision: number, changes: Change[]): void {
    // A copy: callbacks may close watchers (or open new ones) while we iterate.
    for (const w of [...this.watchers]) {
      if (w.replaying) w.buffer.push({ revision, changes });
      else this.deliver(w, revision, changes);
    }
  }

  private deliver(w: WatchState, revision: number, changes: Change[]): void {
    if (w.closed || revision <= w.lastRevision || revision < w.minRevision) return;
    w.lastRevision = revision;
    for (const c of changes) {
      if (w.closed) return;
      const key = c.type === "put" ? c.kv.key : c.key;
      if (!key.startsWith(w.prefix)) continue;
      // A fresh object per callback, so one watcher cannot alter what another sees.
      const ev: WatchEvent = c.type === "put" ? { type: "put", kv: { ...c.kv }, revision } : { type: "delete", key, revision };
      try {
        w.onEvent(ev);
      } catch (err) {
        this.onWatchError(err);
      }
    }
  }

  private decodeKv(key: string, raw: string): KeyValue {
    const r = parseJson(raw);
    if (!isRecord(r) || typeof r.v !== "string" || !isRevision(r.c) || !isRevision(r.m)) {
      throw new StoreCorruptError(this.dir, `bad record for key ${JSON.stringify(key)}`);
    }
    return { key, value: r.v, createRevision: r.c, modRevision: r.m };
  }

  private decodeRevision(metaKey: string, raw: string | undefined): number {
    const n = Number(raw);
    if (raw === undefined || !isRevision(n)) throw new StoreCorruptError(this.dir, `bad ${metaKey}: ${raw}`);
    return n;
  }

  private decodeLogRevision(key: string): number {
    const n = Number(key.slice(LOG.length));
    if (!isRevision(n) || n === 0) throw new StoreCorruptError(this.dir, `bad log key ${key}`);
    return n;
  }

  private decodeChanges(logKeyStr: string, raw: string): Change[] {
    const entries = parseJson(raw);
    const revision = this.decodeLogRevision(logKeyStr);
    if (!Array.isArray(entries)) throw new StoreCorruptError(this.dir, `bad log entry ${logKeyStr}`);
    return entries.map((e: unknown): Change => {
      if (isRecord(e) && e.t === "p" && typeof e.k === "string" && typeof e.v === "string" && isRevision(e.c)) {
        return { type: "put", kv: { key: e.k, value: e.v, createRevision: e.c, modRevision: revision } };
      }
      if (isRecord(e) && e.t === "d" && typeof e.k === "string") return { type: "delete", key: e.k };
      throw new StoreCorruptError(this.dir, `bad log entry ${logKeyStr}`);
    });
  }
}

/** Log entries are terse: there are up to historyLimit of them. */
function encodeChanges(changes: Change[]): string {
  return JSON.stringify(
    changes.map((c) => (c.type === "put" ? { t: "p", k: c.kv.key, v: c.kv.value, c: c.kv.createRevision } : { t: "d", k: c.key })),
  );
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}

/**
 * Opens (creating if needed) the store in dir. Fails with StoreLockedError if dir is
 * already open in this or another process.
 */
export async function openLevelStore(dir: string, opts: LevelStoreOptions = {}): Promise<Store> {
  const { historyLimit = DEFAULT_HISTORY_LIMIT, sync = true, onWatchError = noop } = opts;
  if (!Number.isSafeInteger(historyLimit) || historyLimit < 1) {
    throw new RangeError(`historyLimit must be a positive integer, got ${historyLimit}`);
  }
  await mkdir(dir, { recursive: true });
  const realDir = await realpath(dir);
  if (openDirs.has(realDir)) throw new StoreLockedError(dir, "in this process");
  // Claimed before the first await below, so two concurrent opens cannot both pass.
  openDirs.add(realDir);
  const db = new Level<string, string>(realDir, { keyEncoding: "utf8", valueEncoding: "utf8" });
  try {
    try {
      await db.open();
    } catch (err) {
      if (isLockedError(err)) throw new StoreLockedError(dir, "in another process (its LevelDB LOCK is held)", { cause: err });
      // abstract-level's own message is only "Database failed to open": the cause says why (a full disk, say).
      throw new Error(`state store ${dir} cannot be opened: ${causeText(err)}`, { cause: err });
    }
    const [format, rawRevision, rawCompacted] = await db.getMany([META_FORMAT, META_REVISION, META_COMPACTED]);
    if (format === undefined) {
      // A new store, unless some other program's LevelDB lives here.
      const [anyKey] = await db.keys({ limit: 1 }).all();
      if (anyKey !== undefined) throw new StoreCorruptError(dir, "it holds data but no m/format key");
      await db.batch(
        [
          { type: "put", key: META_FORMAT, value: FORMAT },
          { type: "put", key: META_REVISION, value: "0" },
          { type: "put", key: META_COMPACTED, value: "0" },
        ],
        { sync },
      );
    } else if (format !== FORMAT) {
      throw new StoreCorruptError(dir, `layout ${format} is not ${FORMAT}`);
    }
    const revision = format === undefined ? 0 : Number(rawRevision);
    let compacted = format === undefined ? 0 : Number(rawCompacted);
    if (!isRevision(revision) || !isRevision(compacted) || compacted > revision) {
      throw new StoreCorruptError(dir, `bad revision ${rawRevision} / compacted ${rawCompacted}`);
    }
    if (revision - compacted > historyLimit) {
      // Opened with a smaller historyLimit than before. Moving the mark first is enough
      // for correctness (nothing at or below it is ever read); the clear below only frees
      // space and is repeated on every open in case a crash interrupted it.
      compacted = revision - historyLimit;
      await db.put(META_COMPACTED, String(compacted), { sync });
    }
    await db.clear({ gte: LOG, lte: logKey(compacted) });
    return new LevelStore(db, dir, realDir, { revision, compacted }, historyLimit, sync, onWatchError);
  } catch (err) {
    openDirs.delete(realDir);
    await db.close().catch(noop);
    throw err;
  }
}
