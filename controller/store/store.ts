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
  /** All compares hold → all ops applied atomically under one new revision; else nothing. */
  txn(compares: Compare[], ops: Op[]): Promise<TxnResult>;
  /** Every key starting with prefix, in key order. */
  scan(prefix: string, opts?: { limit?: number; reverse?: boolean }): Promise<KeyValue[]>;
  /** Changes to keys under prefix, in revision order, each delivered once. */
  watch(prefix: string, onEvent: (ev: WatchEvent) => void, opts?: WatchOptions): Promise<Watcher>;
  revision(): Promise<number>;
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
