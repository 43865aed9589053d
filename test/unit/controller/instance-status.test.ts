// An instance's status report is what moves a rollout on: a healthy report makes the
// next step due. The reconcile loop decides from the observed state, set at once; the
// report's event goes to the store in order all the same (the event log's queue), so
// the pass must not wait for that event's fsync before it starts deciding.
import { describe, expect, it } from "vitest";
import { EVENT_BURST, onInstanceStatus } from "../../../controller/member/agent-stream/instance-status.js";
import type { AgentServiceDeps } from "../../../controller/member/agent-stream/deps.js";
import type { AgentStream } from "../../../controller/member/agent-stream/stream.js";
import type { ObservedInstance } from "../../../controller/services/records.js";
import type { InstanceStatus__Output } from "../../../shared/gen/berth/v1/InstanceStatus.js";
import { createLogger } from "../../../shared/log/logger.js";
import { selfFencedDetail } from "../../../shared/fence.js";

const log = createLogger("test", "silent");

describe("an instance status report", () => {
  it("kicks the reconcile loop before its event is stored", async () => {
    const order: string[] = [];
    const observed = new Map<string, ObservedInstance>();
    const stored: (() => void)[] = [];
    const d = {
      now: () => 1_000,
      log,
      registry: { live: new Map([["h1", { streamId: 7 }]]), liveOf: () => ({ fencing: new Set<string>() }) },
      loop: { observed, reported: () => order.push("kick") },
      events: {
        append: () => {
          order.push("append");
          // The store's fsync, held back.
          return new Promise<void>((resolve) => stored.push(resolve));
        },
      },
      onLiveness: () => undefined,
      state: { instancesOf: (service: string) => [{ service, slot: 0, hostId: "h1", epoch: 2, moveTo: null }] },
    } as unknown as AgentServiceDeps;
    const s = { hostId: "h1", sid: 7, log } as unknown as AgentStream;
    const st: InstanceStatus__Output = {
      service: "web",
      instance: "web-0",
      epoch: 2,
      revision: 2,
      state: "healthy",
      detail: "GET /healthz → 200",
      restarts: 0,
      since_ms: 1_000,
      age_ms: 0,
      pid: 4242,
      resources_enforced: false,
      resources_note: "",
      install_tail: "",
    };
    const handled = onInstanceStatus(d, s, st);
    // The event's write has not landed, and the loop already knows.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(order).toEqual(["append", "kick"]);
    expect(observed.get("h1")?.state).toBe("healthy");
    for (const r of stored) r();
    await handled;
  });

  it("a copy that stopped itself by self-fencing becomes an event saying why; another stop does not", async () => {
    const events: Array<{ type: string; message: string }> = [];
    const d = {
      now: () => 1_000,
      log,
      registry: { live: new Map([["h2", { streamId: 7 }]]), liveOf: () => ({ fencing: new Set<string>() }) },
      loop: { observed: new Map<string, ObservedInstance>(), reported: () => undefined },
      events: { append: async (ev: { type: string; message: string }) => void events.push(ev) },
      onLiveness: () => undefined,
      state: { instancesOf: (service: string) => [{ service, slot: 0, hostId: "h2", epoch: 1, moveTo: null }] },
    } as unknown as AgentServiceDeps;
    const s = { hostId: "h2", sid: 7, log } as unknown as AgentStream;
    const report = (state: string, detail: string): InstanceStatus__Output => ({
      service: "solo",
      instance: "solo-0",
      epoch: 1,
      revision: 1,
      state,
      detail,
      restarts: 0,
      since_ms: 1_000,
      age_ms: 0,
      pid: 0,
      resources_enforced: false,
      resources_note: "",
      install_tail: "",
    });
    await onInstanceStatus(d, s, report("healthy", "GET /healthz → 200"));
    await onInstanceStatus(d, s, report("stopped", selfFencedDetail(2_050, 2_000)));
    // The same report again (a reconnect) is no news.
    await onInstanceStatus(d, s, report("stopped", selfFencedDetail(2_050, 2_000)));
    expect(events.map((e) => e.type)).toEqual(["instance.healthy", "instance.self-fenced"]);
    expect(events[1]!.message).toBe("solo-0 (epoch 1) stopped itself: no word from the controller for 2.0s (stopAfterDisconnect 2s)");
    await onInstanceStatus(d, s, report("healthy", "GET /healthz → 200"));
    await onInstanceStatus(d, s, report("stopped", "stopped by assignment"));
    expect(events.map((e) => e.type)).toEqual(["instance.healthy", "instance.self-fenced", "instance.healthy"]);
  });

  it("a report of an instance the fleet does not have is no event; a host flooding state changes is cut to a burst, then one a second, said once", async () => {
    const events: Array<{ type: string; message: string; service?: string }> = [];
    let now = 1_000;
    const d = {
      now: () => now,
      log,
      registry: { live: new Map([["h3", { streamId: 7 }]]), liveOf: () => ({ fencing: new Set<string>() }) },
      loop: { observed: new Map<string, ObservedInstance>(), reported: () => undefined },
      events: { append: async (ev: { type: string; message: string }) => void events.push(ev) },
      onLiveness: () => undefined,
      state: { instancesOf: (service: string) => (service === "web" ? [{ service, slot: 0, hostId: "h3", epoch: 7, moveTo: null }] : []) },
    } as unknown as AgentServiceDeps;
    const s = { hostId: "h3", sid: 7, log } as unknown as AgentStream;
    const report = (service: string, state: string): InstanceStatus__Output => ({
      service,
      instance: `${service}-0`,
      epoch: 7,
      revision: 1,
      state,
      detail: "forged",
      restarts: 0,
      since_ms: 0,
      age_ms: 0,
      pid: 0,
      resources_enforced: false,
      resources_note: "",
      install_tail: "",
    });
    for (let i = 0; i < 10; i++) await onInstanceStatus(d, s, report("payments", i % 2 ? "failed" : "healthy"));
    expect(events).toEqual([]);
    for (let i = 0; i < 500; i++) await onInstanceStatus(d, s, report("web", i % 2 ? "failed" : "healthy"));
    expect(events.filter((e) => e.type.startsWith("instance."))).toHaveLength(EVENT_BURST);
    expect(events.filter((e) => e.type === "host.noisy")).toHaveLength(1);
    // A second later, one more goes in; the note is not repeated.
    now += 1_000;
    await onInstanceStatus(d, s, report("web", "healthy"));
    await onInstanceStatus(d, s, report("web", "failed"));
    expect(events.filter((e) => e.type.startsWith("instance."))).toHaveLength(EVENT_BURST + 1);
    expect(events.filter((e) => e.type === "host.noisy")).toHaveLength(1);
  });
});
