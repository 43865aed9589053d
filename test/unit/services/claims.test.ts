/**
 * Two decisions made at once never put two instances on one host: each
 * controller's view is stale to the other's, and the store refuses the second.
 */
import { describe, expect, it } from "vitest";
import type { Store } from "../../../controller/store/store.js";
import { EventLog } from "../../../controller/events/event-log.js";
import { ServiceState, CLAIM_PREFIX } from "../../../controller/services/state.js";
import type { InstanceRecord } from "../../../controller/services/records.js";
import { tempStores } from "../fixtures/store.js";

const inst = (service: string, hostId: string, o: Partial<InstanceRecord> = {}): InstanceRecord => ({ service, slot: 0, hostId, epoch: 1, revision: 1, pinnedHost: "", moveTo: null, ...o });

describe("host claims", () => {
  const stores = tempStores();
  let store: Store | undefined;

  async function two(): Promise<[ServiceState, ServiceState]> {
    const opened = await stores.open();
    store = opened.store;
    const a = new ServiceState(store, opened.events);
    const b = new ServiceState(store, new EventLog(store, Date.now));
    await Promise.all([a.load(), b.load()]);
    return [a, b];
  }

  it("refuses the second of two placements on one host made from the same view", async () => {
    const [a, b] = await two();
    const results = await Promise.all([a.commit({ putInstances: [inst("web", "h1")] }), b.commit({ putInstances: [inst("api", "h1")] })]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const claims = await store!.scan(CLAIM_PREFIX);
    expect(claims.map((kv) => [kv.key, kv.value])).toEqual([["claims/h1", results[0] ? "web-0" : "api-0"]]);
    expect((await store!.scan("instances/")).length).toBe(1);
  });

  it("claims the target of a move, frees the old host when it completes, and frees all on delete", async () => {
    const [a] = await two();
    expect(await a.commit({ putInstances: [inst("web", "h1")] })).toBe(true);
    expect(await a.commit({ putInstances: [inst("web", "h1", { moveTo: { hostId: "h2", epoch: 2 } })] })).toBe(true);
    expect((await store!.scan(CLAIM_PREFIX)).map((kv) => kv.key)).toEqual(["claims/h1", "claims/h2"]);
    // Nobody else may take h2 meanwhile.
    expect(await a.commit({ putInstances: [inst("api", "h2")] })).toBe(false);
    expect(await a.commit({ putInstances: [inst("web", "h2", { epoch: 2 })] })).toBe(true);
    expect((await store!.scan(CLAIM_PREFIX)).map((kv) => kv.key)).toEqual(["claims/h2"]);
    expect(await a.commit({ putInstances: [inst("api", "h1")] })).toBe(true);
    expect([...a.hostAssignments().keys()].sort()).toEqual(["h1", "h2"]);
    expect(await a.commit({ deleteInstances: [{ service: "web", slot: 0 }, { service: "api", slot: 0 }] })).toBe(true);
    expect(await store!.scan(CLAIM_PREFIX)).toEqual([]);
    // The derived view follows every commit.
    expect(a.hostAssignments().size).toBe(0);
  });

  it("a decision made before another commit landed fails, even where the keys it writes were not touched by the cache", async () => {
    const [a] = await two();
    const { startRollout, pause } = await import("../../../controller/rollout/next-step.js");
    const running = startRollout("web", 1, 2, 0);
    expect(await a.commit({ putRollouts: [running] })).toBe(true);
    // The reconcile pass reads…
    const read = a.version;
    // …an operator pauses meanwhile…
    expect(await a.commit({ putRollouts: [pause(running)], readVersion: a.version })).toBe(true);
    // …and the pass's step, derived from "running", must not overwrite the pause.
    expect(await a.commit({ putRollouts: [{ ...running, reason: "stepped" }], readVersion: read })).toBe(false);
    expect(a.rollout("web")?.status).toBe("paused");
    expect(JSON.parse((await store!.get("rollouts/web"))!.value).status).toBe("paused");
  });
});
