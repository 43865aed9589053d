/**
 * The reconcile loop wakes up for the next stored deadline. A deadline beyond what
 * Node's timers hold (2^31−1 ms, ~24.8 days) must not turn into a 1 ms timer: a
 * record stored with progressDeadline 30d (by an older version, or written by hand)
 * once made the controller run a full pass every millisecond.
 *
 * A step that is due at once is taken at once (issue 12): a rolling restart with
 * drainTime 0 waited ~1 s after each drain — for the next tick or heartbeat — before
 * the replace its own pass had made due.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ServiceState } from "../../../controller/services/state.js";
import type { ObservedInstance } from "../../../controller/services/records.js";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import { ReconcileLoop, RECONCILE_TICK_MS, urgentReport } from "../../../controller/reconcile/loop.js";
import { startRollout } from "../../../controller/rollout/next-step.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { createLogger } from "../../../shared/log/logger.js";
import { tempStores } from "../fixtures/store.js";

const NOW = 1_700_000_000_000;
const DAY_MS = 86_400_000;

describe("the reconcile loop's wake-up", () => {
  const stores = tempStores();
  let loop: ReconcileLoop | undefined;
  afterEach(async () => {
    await loop?.stop();
    vi.useRealTimers();
  });

  /** web (2 instances, drainTime and minHealthyTime 0) on ready hosts h1 and h2, its rollout 1 → 2 just started. */
  async function rollingTwoHosts(): Promise<{ state: ServiceState; registry: HostRegistry; events: Awaited<ReturnType<typeof stores.open>>["events"] }> {
    const { store, events } = await stores.open({ clock: () => NOW });
    const registry = new HostRegistry(store, events);
    for (const id of ["h1", "h2"]) {
      await registry.create({ id, labels: {}, advertiseAddr: "127.0.0.1", facts: null, health: "ready", healthSinceMs: NOW, cordoned: false, joinedAtMs: NOW, certSerial: "" }, { compares: [], ops: [] }, { type: "host.joined", host: id, message: "joined" });
    }
    const state = new ServiceState(store, events);
    await state.load();
    const spec = normalizeSpec({ name: "web", run: { command: "x" }, instances: 2, update: { maxUnavailable: 1, minHealthyTime: "0s", drainTime: "0s" } });
    const ok = await state.commit({
      putServices: [{ name: "web", spec, revision: 2, latestRevision: 2, previousRevision: 1, history: [{ revision: 1, spec }], createdAtMs: NOW, updatedAtMs: NOW }],
      putInstances: [
        { service: "web", slot: 0, hostId: "h1", epoch: 1, revision: 1, pinnedHost: "", moveTo: null },
        { service: "web", slot: 1, hostId: "h2", epoch: 1, revision: 1, pinnedHost: "", moveTo: null },
      ],
      putRollouts: [startRollout("web", 1, 2, NOW)],
    });
    expect(ok).toBe(true);
    return { state, registry, events };
  }

  it("a stored rollout with progressDeadline 30d does not make the loop run every millisecond", async () => {
    const { store, events } = await stores.open({ clock: () => NOW });
    const state = new ServiceState(store, events);
    await state.load();
    const registry = new HostRegistry(store, events);
    await registry.load();
    // As an older version stored it: no validation bounds the deadline.
    const spec = normalizeSpec({ name: "web", run: { command: "x" }, instances: 1 });
    spec.update.progressDeadlineMs = 30 * DAY_MS;
    const ok = await state.commit({
      putServices: [{ name: "web", spec, revision: 2, latestRevision: 2, previousRevision: 1, history: [{ revision: 1, spec }], createdAtMs: NOW, updatedAtMs: NOW }],
      // No host to run it: the rollout waits, and its next deadline is the progress deadline.
      putInstances: [{ service: "web", slot: 0, hostId: "", epoch: 1, revision: 2, pinnedHost: "", moveTo: null }],
      putRollouts: [startRollout("web", 1, 2, NOW)],
    });
    expect(ok).toBe(true);

    // Only the timers are fake: the store's I/O and promises run as they do.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    loop = new ReconcileLoop({ state, registry, log: createLogger("test", "silent"), now: () => NOW, failover: () => ({ paused: false, controllerStartedAtMs: NOW }) });
    let passes = 0;
    loop.onPass(() => passes++);
    loop.start();
    await loop.settle();
    const settled = passes;
    // Less than one tick of (fake) time: nothing is due, so nothing should run.
    await vi.advanceTimersByTimeAsync(RECONCILE_TICK_MS - 100);
    expect(passes - settled).toBe(0);
  });

  it("the replace after a drain with drainTime 0 is taken by the loop itself, with no tick or heartbeat", async () => {
    const { state, registry, events } = await rollingTwoHosts();

    // No timer fires unless the test advances it: ticks and wake-ups cannot help.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    // No follower grace: these cases are about the loop's wake-ups right after its start.
    loop = new ReconcileLoop({ state, registry, log: createLogger("test", "silent"), now: () => NOW, failover: () => ({ paused: false, controllerStartedAtMs: NOW }), followerGraceMs: 0 });
    const healthy = (hostId: string, slot: number): ObservedInstance => ({ hostId, service: "web", instance: `web-${slot}`, epoch: 1, revision: 1, state: "healthy", detail: "", restarts: 0, sinceMs: NOW - 10_000, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" });
    loop.observed.set("h1", healthy("h1", 0));
    loop.observed.set("h2", healthy("h2", 1));
    let passes = 0;
    loop.onPass(() => passes++);
    loop.start(); // one kick, as a restart request would give
    await loop.idle();

    const types = (await events.list({ limit: 100 })).map((e) => e.type).filter((t) => t.startsWith("rollout."));
    expect(types).toEqual(["rollout.batch", "rollout.drain", "rollout.replace"]);
    expect(state.instancesOf("web").find((i) => i.slot === 0)).toMatchObject({ revision: 2, epoch: 2, drainingSinceMs: null });
    // One pass: with drainTime 0 the drain and its replace are one commit. Then it stops:
    // the replace waits for the agent's report, and a pass that changes nothing does not run again.
    expect(passes).toBe(1);
    await vi.advanceTimersByTimeAsync(RECONCILE_TICK_MS - 100);
    expect(passes).toBe(1);
  });

  // A pass kicked soon after another waits (RECONCILE_PACING): fine for floods of reports,
  // but the report a rollout waits for — its new copy turned healthy — must not wait behind
  // it, or every step of a rollout waits up to 3× a pass (issue 12).
  it("a rollout's copy turning healthy is decided at once, other reports wait for the pacing", async () => {
    const { state, registry, events } = await rollingTwoHosts();

    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    // The pacing's clock moves only here: every pass looks as if it took 100 ms, so a kick
    // after it waits min(250, 3 × 100) ms of (fake) time.
    let clock = 0;
    loop = new ReconcileLoop({ state, registry, log: createLogger("test", "silent"), now: () => NOW, failover: () => ({ paused: false, controllerStartedAtMs: NOW }), pacing: { maxShare: 0.25, maxDelayMs: 250, now: () => clock }, followerGraceMs: 0 });
    loop.onPass(() => (clock += 100));
    const seen = (hostId: string, slot: number, epoch: number, revision: number, st: ObservedInstance["state"]): ObservedInstance => ({ hostId, service: "web", instance: `web-${slot}`, epoch, revision, state: st, detail: "", restarts: 0, sinceMs: NOW, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" });
    const report = (o: ObservedInstance): void => {
      const prev = loop!.observed.get(o.hostId);
      loop!.observed.set(o.hostId, o);
      loop!.reported(prev, o);
    };
    loop.observed.set("h1", seen("h1", 0, 1, 1, "healthy"));
    loop.observed.set("h2", seen("h2", 1, 1, 1, "healthy"));
    let passes = 0;
    loop.onPass(() => passes++);
    loop.start();
    await loop.idle(); // slot 0 drained and replaced (epoch 2)
    expect(passes).toBe(1);

    // Its new copy starting: nothing a rollout gates on, so the pass waits for the pacing.
    report(seen("h1", 0, 2, 2, "starting"));
    await vi.advanceTimersByTimeAsync(200);
    expect(passes).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    await loop.idle();
    expect(passes).toBe(2);

    // Turned healthy, right after that pass: decided at once, no time passing — slot 1's batch starts.
    report(seen("h1", 0, 2, 2, "healthy"));
    await loop.idle();
    expect(passes).toBe(3);
    expect(state.instancesOf("web").find((i) => i.slot === 1)).toMatchObject({ revision: 2, epoch: 2 });
    const types = (await events.list({ limit: 100 })).map((e) => e.type).filter((t) => t.startsWith("rollout."));
    expect(types).toEqual(["rollout.batch", "rollout.drain", "rollout.replace", "rollout.progress", "rollout.batch", "rollout.drain", "rollout.replace"]);
  });
});

describe("urgentReport: which agent reports skip the loop's pacing", () => {
  const obs = (o: Partial<ObservedInstance> = {}): ObservedInstance => ({ hostId: "h1", service: "web", instance: "web-0", epoch: 2, revision: 2, state: "healthy", detail: "", restarts: 0, sinceMs: NOW, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "", ...o });
  const running = { endedAtMs: undefined };
  it("a live turn into a state a rollout in progress gates on", () => {
    for (const state of ["healthy", "unhealthy", "failed"] as const) expect(urgentReport(obs({ state: "starting" }), obs({ state }), running), state).toBe(true);
    // A new epoch's first word counts as a change too.
    expect(urgentReport(obs({ epoch: 1, state: "healthy" }), obs({ state: "failed" }), running)).toBe(true);
  });
  it("not states a rollout does not wait for, nor repeats, first sights (a fleet reconnecting) or services not rolling out", () => {
    for (const state of ["pending", "fetching", "installing", "starting", "stopping", "stopped"] as const) expect(urgentReport(obs({ state: "healthy", epoch: 1 }), obs({ state }), running), state).toBe(false);
    expect(urgentReport(obs(), obs(), running)).toBe(false);
    expect(urgentReport(undefined, obs(), running)).toBe(false);
    expect(urgentReport(obs({ state: "starting" }), obs(), undefined)).toBe(false);
    expect(urgentReport(obs({ state: "starting" }), obs(), { endedAtMs: NOW })).toBe(false);
  });
});

describe("whether a host turning ready is news to the loop", () => {
  const stores = tempStores();
  let loop: ReconcileLoop | undefined;
  afterEach(async () => {
    await loop?.stop();
  });

  it("only when the last pass left an instance waiting for a host, or a rollout runs", async () => {
    const { store, events } = await stores.open({ clock: () => NOW });
    const state = new ServiceState(store, events);
    await state.load();
    const registry = new HostRegistry(store, events);
    await registry.load();
    loop = new ReconcileLoop({ state, registry, log: createLogger("test", "silent"), now: () => NOW, failover: () => ({ paused: false, controllerStartedAtMs: 0 }) });
    loop.start();
    await loop.settle();
    // Nothing to place: a new ready host is a spare, for the next tick.
    expect(loop.waitsForHosts()).toBe(false);
    const spec = normalizeSpec({ name: "web", run: { command: "x" }, instances: 1 });
    expect(await state.commit({ putServices: [{ name: "web", spec, revision: 1, latestRevision: 1, previousRevision: 0, history: [], createdAtMs: NOW, updatedAtMs: NOW }] })).toBe(true);
    await loop.settle();
    // No host to run web-0: it waits for one.
    expect([...loop.unplaced.keys()]).toEqual(["web-0"]);
    expect(loop.waitsForHosts()).toBe(true);
    // A rollout under way wants spares too, even with nothing unplaced (no pass runs meanwhile).
    await loop.stop();
    loop.unplaced.clear();
    expect(loop.waitsForHosts()).toBe(false);
    expect(await state.commit({ putRollouts: [startRollout("web", 1, 2, NOW)] })).toBe(true);
    expect(loop.waitsForHosts()).toBe(true);
  });
});
