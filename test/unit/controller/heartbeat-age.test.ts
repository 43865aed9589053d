// The controller's fencing wait is an interval: a host's last heartbeat, as the
// planner sees it, is measured back from now on the monotonic clock, so a wall
// clock stepped forward (NTP) does not let a replacement start before the
// isolated copy has fenced itself.
import { describe, expect, it } from "vitest";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import { ServiceState } from "../../../controller/services/state.js";
import { ReconcileLoop } from "../../../controller/reconcile/loop.js";
import { DEFAULT_FENCE_MARGIN_MS, replaceableAtMs } from "../../../controller/reconcile/planner.js";
import { FENCE_CHECK_MS } from "../../../agent/converge/converger.js";
import { WATCHDOG_LAG_MS } from "../../../shared/fence.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { createLogger } from "../../../shared/log/logger.js";
import { tempStores } from "../fixtures/store.js";

const stores = tempStores();

describe("a host's last heartbeat, for the fencing wait", () => {
  it("keeps its age when the controller's wall clock steps forward an hour", async () => {
    const { store, events } = await stores.open({ clock: () => 0 });
    const registry = new HostRegistry(store, events);
    const T = 1_800_000_000_000;
    let wall = T;
    let mono = 5_000_000;
    const loop = new ReconcileLoop({
      state: new ServiceState(store, events),
      registry,
      log: createLogger("test", "silent"),
      now: () => wall,
      mono: () => mono,
      failover: () => ({ paused: false, controllerStartedAtMs: 0 }),
    });
    // The heartbeat, as agent-service.ts records it.
    const live = registry.liveOf("h1");
    live.lastHeartbeatMs = wall;
    live.lastHeartbeatMono = mono;
    const rec = { id: "h1", labels: {}, advertiseAddr: "10.0.0.1", facts: null, health: "down", healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "" } as unknown as HostRecord;

    // 2 s later, and NTP has stepped the wall clock forward one hour meanwhile.
    mono += 2_000;
    wall += 2_000 + 3_600_000;
    const view = loop.hostView(rec);
    expect(view.lastHeartbeatMs).toBe(wall - 2_000);
    // stopAfterDisconnect 5 s, stopTimeout 2 s, margin 1 s: 6 s still to wait, not "long overdue".
    const spec = { failover: { stopAfterDisconnectMs: 5_000 }, run: { stopTimeoutMs: 2_000 } };
    expect(replaceableAtMs(view, spec, { paused: false, controllerStartedAtMs: 0 }) - wall).toBe(6_000);
  });
});

describe("the fencing margin", () => {
  it("covers the agent's check period and, for a dead agent, its watchdog's lag, with room for a heartbeat in flight", () => {
    expect(DEFAULT_FENCE_MARGIN_MS).toBeGreaterThanOrEqual(Math.max(FENCE_CHECK_MS, WATCHDOG_LAG_MS) + 250);
  });
});
