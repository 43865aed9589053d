/**
 * The operations a store has started, so that close() can let them finish
 * (the Store contract: writes already started complete). Every backend keeps one.
 */
import { StoreClosedError } from "./store.js";

export class Inflight {
  private readonly ops = new Set<Promise<unknown>>();

  /** Runs op unless the store is closed, and remembers it until it settles. */
  track<T>(closed: boolean, op: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new StoreClosedError());
    const p = op();
    this.ops.add(p);
    const done = (): void => void this.ops.delete(p);
    void p.then(done, done);
    return p;
  }

  /** Resolves once everything started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.ops]);
  }
}
