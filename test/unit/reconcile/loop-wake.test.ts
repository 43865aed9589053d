/**
 * The reconcile loop wakes up for the next stored deadline. A deadline beyond what
 * Node's timers hold (2^31−1 ms, ~24.8 days) must not turn into a 1 ms timer: a
 * record stored with progressDeadline 30d (by an older version, or written by hand)
 * once made the controller run a full pass every millisecond.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLevelStore } from "../../../controller/store/level-store.js";
import type { Store } from "../../../controller/store/store.js";
import { EventLog } from "../../../controller/events/event-log.js";
import { ServiceState } from "../../../controller/services/state.js";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import { ReconcileLoop, RECONCILE_TICK_MS } from "../../../controller/reconcile/loop.js";
import { startRollout } from "../../../controller/rollout/next-step.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { createLogger } from "../../../shared/log/logger.js";

const NOW = 1_700_000_000_000;
const DAY_MS = 86_400_000;

describe("the reconcile loop's wake-up", () => {
  let dir = "";
  let store: Store | undefined;
  let loop: ReconcileLoop | undefined;
  afterEach(async () => {
    await loop?.stop();
    vi.useRealTimers();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("a stored rollout with progressDeadline 30d does not make the loop run every millisecond", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-loop-wake-"));
    store = await openLevelStore(dir);
    const events = new EventLog(store, () => NOW);
    await events.init();
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
});
