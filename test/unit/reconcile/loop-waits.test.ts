/**
 * The reconcile loop's word on why a slot waits, with its kind (reconcile/waits.ts), and
 * whose word it is: a term's own only once a pass of that term has run. A member leading
 * again once showed its former term's waits (a backoff since over could end apply --wait),
 * and in a group its share would have deleted the stored waits before its first pass.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ServiceState } from "../../../controller/services/state.js";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import { ReconcileLoop } from "../../../controller/reconcile/loop.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { createLogger } from "../../../shared/log/logger.js";
import { tempStores } from "../fixtures/store.js";

const NOW = 1_700_000_000_000;

describe("the reconcile loop's waits", () => {
  const stores = tempStores();
  let loop: ReconcileLoop | undefined;
  afterEach(async () => {
    await loop?.stop();
  });

  it("says a slot no host can take is unplaced, once a pass of its term has run, and not after its term ends", async () => {
    const { store, events } = await stores.open({ clock: () => NOW });
    const state = new ServiceState(store, events);
    await state.load();
    const registry = new HostRegistry(store, events);
    await registry.load();
    const spec = normalizeSpec({ name: "web", run: { command: "x" }, instances: 1 });
    expect(await state.commit({ putServices: [{ name: "web", spec, revision: 1, latestRevision: 1, previousRevision: 0, history: [], createdAtMs: NOW, updatedAtMs: NOW }] })).toBe(true);
    loop = new ReconcileLoop({ state, registry, log: createLogger("test", "silent"), now: () => NOW, failover: () => ({ paused: false, controllerStartedAtMs: NOW }) });
    const slot = { service: "web", slot: 0 };

    expect(loop.leading).toBe(false);
    loop.start(store);
    // Started, but no pass of this term has run: not yet its word.
    expect(loop.leading).toBe(false);
    expect(loop.termStore).toBeUndefined();
    await loop.settle();
    expect(loop.leading).toBe(true);
    expect(loop.termStore).toBe(store);
    expect(loop.wait(slot)).toEqual({ kind: "unplaced", reason: "no spare host: the fleet has no hosts", stuck: false });

    await loop.stop();
    expect(loop.leading).toBe(false);
    expect(loop.termStore).toBeUndefined();
    // A new term says it again once its own pass has run.
    loop.start(store);
    await loop.settle();
    expect(loop.wait(slot)?.kind).toBe("unplaced");
    expect(loop.leading).toBe(true);
  });
});
