/**
 * One bad record must not stall the fleet (issue 10): each service is a unit of
 * the reconcile loop; a record that cannot be read quarantines its service, an
 * exception in one service's unit is that service's alone (recorded, retried with
 * backoff), and every other service keeps converging.
 */
import { afterEach, describe, expect, it } from "vitest";
import { assignmentFor, isSuperseded } from "../../../controller/services/assignment.js";
import { type EventRecord } from "../../../controller/events/event-log.js";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import { ServiceState } from "../../../controller/services/state.js";
import { ReconcileLoop } from "../../../controller/reconcile/loop.js";
import { createLogger } from "../../../shared/log/logger.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { startRollout, type RolloutState } from "../../../controller/rollout/next-step.js";
import type { InstanceRecord, ServiceRecord } from "../../../controller/services/records.js";
import { tempStores } from "../fixtures/store.js";

const T0 = 1_700_000_000_000;

function service(name: string, instances: number): ServiceRecord {
  return { name, spec: normalizeSpec({ name, run: { command: "x" }, instances }), revision: 1, createdAtMs: T0, updatedAtMs: T0 };
}

describe("reconcile loop: per-service isolation", () => {
  const stores = tempStores();
  let loop: ReconcileLoop | undefined;
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
  });

  /** A controller's state over a fresh store holding `records` as raw stored values, with `hosts` ready hosts. */
  async function controller(hosts: string[], records: Record<string, string>): Promise<{ state: ServiceState; loop: ReconcileLoop; clock: { now: number }; events: () => Promise<EventRecord[]> }> {
    const clock = { now: T0 };
    const { store, events } = await stores.open({ clock: () => clock.now });
    for (const [k, v] of Object.entries(records)) await store.put(k, v);
    const registry = new HostRegistry(store, events);
    for (const id of hosts) {
      await registry.create({ id, labels: {}, advertiseAddr: "127.0.0.1", facts: null, health: "ready", healthSinceMs: T0, cordoned: false, joinedAtMs: T0, certSerial: "" }, { compares: [], ops: [] }, { type: "host.joined", host: id, message: "joined" });
    }
    const state = new ServiceState(store, events);
    await state.load();
    loop = new ReconcileLoop({ state, registry, log: createLogger("test", "silent"), now: () => clock.now, failover: () => ({ paused: false, controllerStartedAtMs: T0 }) });
    // A loop decides only while started (its member leads).
    loop.start();
    return { state, loop, clock, events: () => events.list({ limit: 1000 }) };
  }

  it("quarantines unreadable records and places the good service anyway; the bad one's instance stays on its host", async () => {
    const badInst: InstanceRecord = { service: "bad", slot: 0, hostId: "h3", epoch: 1, revision: 1, pinnedHost: "", moveTo: null };
    const absurd = service("absurd", 1);
    const { state, loop, events } = await controller(["h1", "h2", "h3", "h4"], {
      "services/good": JSON.stringify(service("good", 2)),
      "services/bad": "{ this is not json",
      "instances/bad/00000": JSON.stringify(badInst),
      "claims/h3": "bad-0",
      // An out-of-bounds value (once: maxSurge 1e9 allocated until the heap ran out, on every restart).
      "services/absurd": JSON.stringify({ ...absurd, spec: { ...absurd.spec, update: { ...absurd.spec.update, maxSurge: 1e9 } } }),
      // A record from a newer controller is not misread.
      "rollouts/good2": JSON.stringify({ schemaVersion: 99, ...startRollout("good2", 1, 2, T0) }),
    });
    await loop.settle();

    const good = state.instancesOf("good");
    expect(good).toHaveLength(2);
    expect(good.every((i) => i.hostId !== "" && i.hostId !== "h3")).toBe(true);
    // The bad service's instance is neither stopped nor moved, and its host is not handed out.
    expect(state.instancesOf("bad")).toEqual([badInst]);
    expect(assignmentFor(state, "h3")).toBeUndefined();
    expect(isSuperseded(state, "h3", "bad-0", 1)).toBe(false);
    expect(state.instancesOf("absurd")).toEqual([]);

    expect(loop.errors.get("bad")).toMatchObject({ retryAtMs: null, message: expect.stringMatching(/services\/bad is unusable: not JSON/) });
    expect(loop.errors.get("absurd")?.message).toMatch(/update\.maxSurge/);
    expect(loop.errors.get("good2")?.message).toMatch(/schemaVersion 99 is newer/);
    expect(loop.errors.has("good")).toBe(false);
    const failed = (await events()).filter((e) => e.type === "service.reconcile-failed").map((e) => e.service);
    expect(failed.sort()).toEqual(["absurd", "bad", "good2"]);

    // Reported once, not on every pass.
    await loop.settle();
    expect((await events()).filter((e) => e.type === "service.reconcile-failed")).toHaveLength(3);

    // Applying the spec again replaces the bad record: the service is decided about again, its instance kept.
    expect(await state.commit({ putServices: [service("bad", 1)] })).toBe(true);
    await loop.settle();
    expect(loop.errors.has("bad")).toBe(false);
    expect(assignmentFor(state, "h3")).toMatchObject({ service: "bad", instance: "bad-0", epoch: 1 });
    expect(state.instancesOf("bad")).toEqual([badInst]);
    expect((await events()).filter((e) => e.type === "service.reconcile-recovered").map((e) => e.service)).toEqual(["bad"]);
    // An unreadable record can be deleted as well.
    expect(await state.commit({ deleteServices: ["absurd"] })).toBe(true);
    expect(state.quarantined().map((q) => q.key)).toEqual(["rollouts/good2"]);
  });

  it("an exception in one service's unit is its own: the others converge, it backs off 1 s, 2 s, … and recovers", async () => {
    const { state, loop, clock, events } = await controller(["h1", "h2", "h3", "h4"], {});
    expect(await state.commit({ putServices: [service("good", 1), service("boom", 1)] })).toBe(true);
    await loop.settle();
    const [placed] = state.instancesOf("boom");
    expect(placed?.hostId).toBeTruthy();
    // Its host reports the copy running (a rollout waits for every host's word).
    const h = placed!.hostId;
    loop.observed.set(h, { hostId: h, service: "boom", instance: "boom-0", epoch: placed!.epoch, revision: 1, state: "healthy", detail: "", restarts: 0, sinceMs: T0, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" });
    // A rollout record that makes boom's rollout step throw (what a bug, or a record
    // that passed validation yet breaks an invariant, does).
    const broken = { ...startRollout("boom", 1, 2, T0), batch: { slots: [0], startedAtMs: T0, viaSpare: null, issued: [], done: [] } } as unknown as RolloutState;
    expect(await state.commit({ putRollouts: [broken] })).toBe(true);

    // The good service still converges: scaled up while boom fails, it is placed.
    expect(await state.commit({ putServices: [service("good", 3)] })).toBe(true);
    await loop.settle();
    expect(state.instancesOf("good").filter((i) => i.hostId)).toHaveLength(3);
    expect(loop.errors.get("boom")).toMatchObject({ attempts: 1, atMs: T0, retryAtMs: T0 + 1000, message: expect.stringMatching(/TypeError/) });

    // Not retried before its time…
    clock.now = T0 + 999;
    await loop.settle();
    expect(loop.errors.get("boom")?.attempts).toBe(1);
    // …then retried, and the wait doubles.
    clock.now = T0 + 1000;
    await loop.settle();
    expect(loop.errors.get("boom")).toMatchObject({ attempts: 2, sinceMs: T0, retryAtMs: T0 + 1000 + 2000 });
    clock.now = T0 + 3000;
    await loop.settle();
    expect(loop.errors.get("boom")).toMatchObject({ attempts: 3, retryAtMs: T0 + 3000 + 4000 });

    // Repaired: the next try succeeds and the error is gone.
    expect(await state.commit({ putRollouts: [{ ...broken, batch: null }] })).toBe(true);
    clock.now = T0 + 7000;
    await loop.settle();
    expect(loop.errors.has("boom")).toBe(false);
    const types = (await events()).filter((e) => e.service === "boom").map((e) => e.type);
    expect(types.filter((t) => t === "service.reconcile-failed")).toHaveLength(3);
    expect(types).toContain("service.reconcile-recovered");
  });
});
