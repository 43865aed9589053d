/**
 * A leader's decisions go through the store its term was given (leader/leadership.ts
 * TermContext.writes, in a group etcd's guarded store): a deposed leader's reconcile
 * commit, host judgement, guard change and GitOps sync are refused with NotLeaderError,
 * naming the leader key, and change nothing — neither the store nor what the member holds.
 */
import { describe, expect, it } from "vitest";
import type { Store } from "../../../controller/store/store.js";
import { NotLeaderError } from "../../../controller/store/not-leader.js";
import type { EventLog } from "../../../controller/events/event-log.js";
import { ServiceState } from "../../../controller/services/state.js";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import { GUARD_INITIAL, GuardStore } from "../../../controller/failure/guard-state.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { applyFiles, type ApplyFilesDeps } from "../../../controller/services/apply-files.js";
import type { ReconcileLoop } from "../../../controller/reconcile/loop.js";
import { createLogger } from "../../../shared/log/logger.js";
import { tempStores } from "../fixtures/store.js";

/** store, with every write refused as etcd refuses a deposed leader's. */
function deposed(store: Store): Store & { refused: number } {
  const s = {
    ...store,
    refused: 0,
    get: store.get.bind(store),
    scan: store.scan.bind(store),
    watch: store.watch.bind(store),
    revision: store.revision.bind(store),
    close: store.close.bind(store),
    txn: () => {
      s.refused++;
      return Promise.reject(new NotLeaderError("c1", "etcd refused the write: the leader key berth/election/7 (created at 12) is gone"));
    },
    put: () => s.txn(),
    delete: () => s.txn(),
  };
  return s;
}

describe("a leader's writes go through its term's store", () => {
  const stores = tempStores();

  const open = (): Promise<{ store: Store; events: EventLog }> => stores.open({ clock: () => 1000 });

  it("a reconcile commit through a deposed leader's store is refused, naming the leader key, and changes nothing", async () => {
    const { store, events } = await open();
    const state = new ServiceState(store, events);
    await state.load();
    const via = deposed(store);
    const before = await store.revision();
    await expect(state.commit({ putInstances: [{ service: "web", slot: 0, hostId: "h1", epoch: 1, revision: 1, pinnedHost: "", moveTo: null }], via })).rejects.toThrow(/berth\/election\/7/);
    expect(via.refused).toBe(1);
    expect(await store.revision()).toBe(before);
    expect(state.allInstances()).toEqual([]);
    // The same commit through the member's own store (a lone controller) lands.
    expect(await state.commit({ putInstances: [{ service: "web", slot: 0, hostId: "h1", epoch: 1, revision: 1, pinnedHost: "", moveTo: null }] })).toBe(true);
  });

  it("a host judgement and a guard change through it are refused and leave the records as they were", async () => {
    const { store, events } = await open();
    const registry = new HostRegistry(store, events);
    await registry.load();
    const rec = { id: "h1", health: "ready", healthSinceMs: 1, cordoned: false, draining: false, labels: {}, advertiseAddr: "10.0.0.1", joinedAtMs: 1 } as unknown as HostRecord;
    expect(await registry.create(rec, { compares: [], ops: [] }, { type: "host.joined", host: "h1", message: "joined" })).toBe(true);
    const via = deposed(store);
    const before = await store.revision();
    await expect(registry.update("h1", (r) => ({ rec: { ...r, health: "down" } }), via)).rejects.toBeInstanceOf(NotLeaderError);
    expect(registry.get("h1")?.health).toBe("ready");

    const guard = await GuardStore.load(store, events);
    await expect(guard.save({ paused: true, reason: "3 of 4 went down", sinceMs: 5, resumedAtMs: 0 }, { type: "failover.paused", message: "paused" }, via)).rejects.toBeInstanceOf(NotLeaderError);
    expect(guard.current).toEqual(GUARD_INITIAL);
    expect(await store.revision()).toBe(before);
    expect(via.refused).toBe(2);
  });

  // A GitOps sync applies (services/apply-files.ts) with its source's status in the same
  // txn: a leader deposed while its fetch was slow must write neither.
  it("a GitOps sync's apply through a deposed leader's store is refused and changes nothing", async () => {
    const { store, events } = await open();
    const state = new ServiceState(store, events);
    await state.load();
    const registry = new HostRegistry(store, events);
    await registry.load();
    const loop = { hostView: () => undefined, settle: () => Promise.resolve() } as unknown as ReconcileLoop;
    const d: ApplyFilesDeps = { state, loop, registry, artifactsKnown: new Set(), now: () => 1000, log: createLogger("test", "silent") };
    const via = deposed(store);
    const before = await store.revision();
    const files = [{ file: "web.yaml", content: "name: web\nrun:\n  command: x\n", artifact_sha256: "" }];
    const status = { type: "put" as const, key: "gitops/status/src", value: "{}" };
    await expect(applyFiles(d, { files, prune: false, actor: "gitops:src", role: "operator", via, extra: () => ({ ops: [status] }) })).rejects.toBeInstanceOf(NotLeaderError);
    expect(via.refused).toBe(1);
    expect(await store.revision()).toBe(before);
    expect(state.allServices()).toEqual([]);
  });
});
