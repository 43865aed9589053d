// What a failure-detector pass asks of the reconcile loop (leader/failure-pass.ts): a
// host declared down makes the loop's work due at once; hosts turning ready do not — a
// joining fleet turns some ready on every pass, and an unpaced fleet-wide reconcile pass
// after each was work per join that grew with the fleet.
import { describe, expect, it } from "vitest";
import { ConflictError, HostRegistry } from "../../../controller/hosts/registry.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import type { FailoverGuard } from "../../../controller/failure/failover-guard.js";
import { localLiveness } from "../../../controller/failure/liveness.js";
import { failurePass, type FailurePassDeps } from "../../../controller/leader/failure-pass.js";
import { createLogger } from "../../../shared/log/logger.js";
import { tempStores } from "../fixtures/store.js";

const stores = tempStores();

function host(id: string, health: HostRecord["health"]): HostRecord {
  return { id, labels: {}, advertiseAddr: "10.0.0.1", facts: null, health, healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "" };
}

async function fleet(hosts: HostRecord[]): Promise<HostRegistry> {
  const { store, events } = await stores.open({ clock: () => 0 });
  const registry = new HostRegistry(store, events);
  for (const h of hosts) expect(await registry.create(h, { compares: [], ops: [] }, { type: "host.joined", host: h.id, message: "joined" })).toBe(true);
  return registry;
}

const CFG = { ttlMs: 5_000, graceUntilMs: 0, startedAtMs: 0 };

/** A pass's deps over this registry, wall clock 1,000 and a TTL of 5 s; `over` replaces any. */
function deps(registry: HostRegistry, over: Partial<FailurePassDeps> = {}): FailurePassDeps {
  return {
    registry,
    liveness: () => localLiveness(registry),
    guard: { sync: async () => undefined } as unknown as FailoverGuard,
    log: createLogger("test", "silent"),
    now: () => 1_000,
    mono: () => 10_000,
    ttlMs: 5_000,
    onTransition: () => undefined,
    ...over,
  };
}

async function pass(registry: HostRegistry, monoNow: number): Promise<{ transitions: string[]; dueNow: number }> {
  const transitions: string[] = [];
  let dueNow = 0;
  await failurePass(deps(registry, { mono: () => monoNow, onTransition: (to) => transitions.push(to), onTransitionsDone: () => dueNow++ }), CFG);
  return { transitions, dueNow };
}

describe("a failure-detector pass", () => {
  it("tells the loop of hosts turning ready without asking for a pass at once", async () => {
    const registry = await fleet([host("a", "joining"), host("b", "joining"), host("c", "down")]);
    for (const id of ["a", "b", "c"]) registry.liveOf(id).lastHeartbeatMono = 9_500;
    expect(await pass(registry, 10_000)).toEqual({ transitions: ["ready", "ready", "ready"], dueNow: 0 });
    expect(registry.all().map((h) => h.health)).toEqual(["ready", "ready", "ready"]);
  });

  it("asks for a pass at once, once, when a host goes down", async () => {
    const registry = await fleet([host("a", "ready"), host("b", "joining")]);
    registry.liveOf("a").lastHeartbeatMono = 1_000;
    registry.liveOf("b").lastHeartbeatMono = 9_500;
    expect(await pass(registry, 10_000)).toEqual({ transitions: ["down", "ready"], dueNow: 1 });
  });

  it("judges nothing once its term's lease is lost (a leader resuming from a freeze): no host down, no stream closed", async () => {
    const registry = await fleet([host("a", "ready"), host("b", "ready")]);
    registry.liveOf("a").lastHeartbeatMono = 1_000;
    registry.liveOf("b").lastHeartbeatMono = 1_000;
    let closed = 0;
    registry.liveOf("a").disconnect = () => closed++;
    registry.liveOf("a").send = () => undefined;
    let leading = true;
    const transitions: string[] = [];
    const d = deps(registry, {
      leading: () => leading,
      onTransition: (to) => {
        transitions.push(to);
        // The lease runs out while the first host's write is out: the second is not judged.
        leading = false;
      },
    });
    const cfg = CFG;
    leading = false;
    expect(await failurePass(d, cfg)).toBeNull();
    expect({ transitions, closed, health: registry.all().map((h) => h.health) }).toEqual({ transitions: [], closed: 0, health: ["ready", "ready"] });
    leading = true;
    await failurePass(d, cfg);
    expect(registry.all().map((h) => h.health)).toEqual(["down", "ready"]);
    expect(closed).toBe(1);
  });

  it("reads the fleet once in a pass where no host changes health, and still wakes for the next one due", async () => {
    const registry = await fleet([host("a", "ready"), host("b", "ready")]);
    registry.liveOf("a").lastHeartbeatMono = 9_000;
    registry.liveOf("b").lastHeartbeatMono = 9_400;
    let reads = 0;
    const next = await failurePass(deps(registry, { liveness: () => (reads++, localLiveness(registry)) }), CFG);
    // Every pass over every host is paid per tick: a second read was a second copy of the fleet.
    expect(reads).toBe(1);
    expect(next).toBe(9_000 + 5_000 + 1);
  });

  it("judges the other hosts when one host's record keeps changing under it, and that one next pass", async () => {
    const registry = await fleet([host("a", "joining"), host("b", "joining")]);
    for (const id of ["a", "b"]) registry.liveOf(id).lastHeartbeatMono = 9_500;
    const update = registry.update.bind(registry);
    let storm = true;
    registry.update = ((id: string, ...rest: Parameters<HostRegistry["update"]> extends [string, ...infer R] ? R : never) =>
      storm && id === "a" ? Promise.reject(new ConflictError("host a changed concurrently; try again")) : update(id, ...rest)) as HostRegistry["update"];
    expect(await pass(registry, 10_000)).toEqual({ transitions: ["ready"], dueNow: 0 });
    expect(registry.all().map((h) => [h.id, h.health])).toEqual([["a", "joining"], ["b", "ready"]]);
    storm = false;
    expect(await pass(registry, 10_000)).toEqual({ transitions: ["ready"], dueNow: 0 });
    expect(registry.get("a")?.health).toBe("ready");
  });
});
