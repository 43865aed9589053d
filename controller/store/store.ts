/**
 * The one interface all controller state goes through (DESIGN.md, "State store").
 * Its primitives are etcd's, so a distributed backend can hold the same state:
 * get, put, delete, an atomic batch guarded by compare-and-set on each key's
 * revision, prefix scan, and watch from a revision.
 *
 * Revisions: the store has one revision counter that every successful write
 * (put, delete, or a whole txn) increases by exactly one. Each key remembers the
 * revision that created it and the one that last modified it. A key that does not
 * exist has modRevision 0, so `{ key, modRevision: 0 }` means "must not exist".
 * As in etcd, a write that changes nothing (deleting a missing key, a txn whose ops
 * are empty or only delete missing keys) makes no revision, so every revision in the
 * watch history is a real change. Revisions only grow, across restarts too.
 *
 * Keys are ordered by their UTF-8 bytes (as in etcd and LevelDB), which is not JS
 * string order for characters outside the BMP.
 *
 * test/unit/store/contract.ts is the executable form of this contract: every backend
 * runs it.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created this key (since its last deletion). */
  createRevision: number;
  /** Revision of the write that last changed this key. */
  modRevision: number;
}

export interface Compare {
  key: string;
  /** The key's modRevision must equal this; 0 means the key must not exist. */
  modRevision: number;
}

export type Op = { type: "put"; key: string; value: string } | { type: "delete"; key: string };

export interface TxnResult {
  succeeded: boolean;
  /** The store's revision after the txn (unchanged when it did not succeed). */
  revision: number;
  /** The keys whose compare failed, when it did not succeed. */
  failed: string[];
}

export type WatchEvent =
  | { type: "put"; kv: KeyValue; revision: number }
  | { type: "delete"; key: string; revision: number };

export interface Watcher {
  /** Stops the watch; the callback is not called again. */
  close(): void;
}

export interface WatchOptions {
  /**
   * Deliver every change with revision >= fromRevision first (history), then follow
   * live. Omitted: only changes after the watch starts. A revision older than what
   * the store keeps fails with CompactedError.
   */
  fromRevision?: number;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  /** Returns the new store revision. */
  put(key: string, value: string): Promise<number>;
  /** Returns the new store revision; deleting a missing key changes nothing and returns the current one. */
  delete(key: string): Promise<number>;
  /**
   * All compares hold → all ops applied atomically under one new revision; else nothing.
   * The check and the write are atomic with respect to every other write. Ops must
   * name distinct keys (etcd refuses duplicates too); otherwise the promise rejects
   * and nothing is applied.
   */
  txn(compares: Compare[], ops: Op[]): Promise<TxnResult>;
  /**
   * Every key starting with prefix, in key order (descending with `reverse`), at most
   * `limit` (a positive integer) of them.
   */
  scan(prefix: string, opts?: { limit?: number; reverse?: boolean }): Promise<KeyValue[]>;
  /**
   * Changes to keys under prefix, in revision order, each delivered once; the events of
   * one txn share its revision and come in op order. The promise resolves once the
   * watch is in place and any requested history has been delivered. A callback that
   * throws does not affect the store or other watchers. A watch ends by close(), or
   * silently when the store closes.
   */
  watch(prefix: string, onEvent: (ev: WatchEvent) => void, opts?: WatchOptions): Promise<Watcher>;
  /** The revision of the last acknowledged write. */
  revision(): Promise<number>;
  /**
   * Lets writes already started finish, then releases the store. Afterwards every call
   * rejects with StoreClosedError; close() again resolves.
   */
  close(): Promise<void>;
}

export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`revision ${requested} is compacted; the oldest kept is ${oldest}`);
    this.name = "CompactedError";
  }
}

export class StoreClosedError extends Error {
  constructor() {
    super("store is closed");
    this.name = "StoreClosedError";
  }
}

/** A txn that names the same key in two ops (etcd refuses these too: which one wins?). */
export class InvalidTxnError extends Error {
  constructor(detail: string) {
    super(`invalid txn: ${detail}`);
    this.name = "InvalidTxnError";
  }
}

/**
 * The store could not be reached, or did not answer in time (etcd without its quorum, cut
 * off, down). A write that failed so may or may not have been applied. The operator API
 * answers it as UNAVAILABLE, saying so (member/api/errors.ts), never as an internal error.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}
