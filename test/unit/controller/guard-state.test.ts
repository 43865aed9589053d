/** The guard's state is stored first, then held: a failed write leaves memory and store agreeing. */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Store } from "../../../controller/store/store.js";
import type { EventLog } from "../../../controller/events/event-log.js";
import { GUARD_KEY, GUARD_INITIAL, GuardStore } from "../../../controller/failure/guard-state.js";
import { tempStores } from "../fixtures/store.js";

describe("guard state", () => {
  const stores = tempStores();
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const open = (): Promise<{ store: Store; events: EventLog }> => stores.open({ clock: () => 1000 });

  const paused = { paused: true, reason: "3 of 4 ready hosts went down", sinceMs: 500, resumedAtMs: 0 };

  it("a write that fails changes nothing in memory; one that succeeds is what a restart reads", async () => {
    const { store, events } = await open();
    const guard = await GuardStore.load(store, events);
    vi.spyOn(store, "txn").mockRejectedValueOnce(new Error("disk full"));
    await expect(guard.save(paused, { type: "failover.paused", message: "paused" })).rejects.toThrow("disk full");
    expect(guard.current).toEqual(GUARD_INITIAL);
    expect(await store.get(GUARD_KEY)).toBeUndefined();

    await guard.save(paused, { type: "failover.paused", message: "paused" });
    expect(guard.current).toEqual(paused);
    expect((await GuardStore.load(store, events)).current).toEqual(paused);
  });

  it("saves in call order, so memory ends as the store does", async () => {
    const { store, events } = await open();
    const guard = await GuardStore.load(store, events);
    const resumed = { paused: false, reason: "", sinceMs: 600, resumedAtMs: 600 };
    await Promise.all([guard.save(paused, { type: "failover.paused", message: "paused" }), guard.save(resumed, { type: "failover.resumed", message: "resumed" })]);
    expect(guard.current).toEqual(resumed);
    expect((await GuardStore.load(store, events)).current).toEqual(resumed);
  });

  it("an unreadable stored state is quarantined: the guard starts unpaused and says why", async () => {
    const { store, events } = await open();
    await store.put(GUARD_KEY, JSON.stringify({ paused: "yes" }));
    const guard = await GuardStore.load(store, events);
    expect(guard.current).toEqual(GUARD_INITIAL);
    expect(guard.quarantined).toMatchObject({ key: GUARD_KEY, reason: expect.stringMatching(/paused/) });
  });
});
