// An instance's status report is what moves a rollout on: a healthy report makes the
// next step due. The reconcile loop decides from the observed state, set at once; the
// report's event goes to the store in order all the same (the event log's queue), so
// the pass must not wait for that event's fsync before it starts deciding.
import { describe, expect, it } from "vitest";
import { onInstanceStatus } from "../../../controller/member/agent-stream/instance-status.js";
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

  describe("of a stopped copy", () => {
    function deps(assigned: { epoch: number } | undefined, o: { health?: string; storeUnavailable?: string } = {}) {
      const observed = new Map<string, ObservedInstance>();
      const sent: string[] = [];
      const events: { type: string; message: string }[] = [];
      const d = {
        now: () => 1_000,
        log,
        registry: { live: new Map([["h1", { streamId: 7 }]]), liveOf: () => ({ fencing: new Set<string>() }), get: () => ({ id: "h1", health: o.health ?? "ready" }) },
        loop: { observed, reported: () => undefined },
        storeUnavailable: () => o.storeUnavailable,
        events: { append: async (e: { type: string; message: string }) => void events.push(e) },
        onLiveness: () => undefined,
        state: {
          hostAssignments: () => new Map(assigned ? [["h1", { inst: { service: "web", slot: 0 }, epoch: assigned.epoch, revision: 2 }]] : []),
          blockedHosts: () => new Set<string>(),
        },
        assignments: { sendTo: (h: string) => sent.push(h) > 0 },
      } as unknown as AgentServiceDeps;
      return { d, sent, events };
    }
    const s = { hostId: "h1", sid: 7, log } as unknown as AgentStream;
    const report = (state: string, epoch: number, detail = state === "stopped" ? selfFencedDetail(3100, 3000) : ""): InstanceStatus__Output => ({
      service: "web",
      instance: "web-0",
      epoch,
      revision: 2,
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

    it("sends the host its assignment again when the copy is the one the records give it (a fence that is over)", async () => {
      const { d, sent, events } = deps({ epoch: 2 });
      await onInstanceStatus(d, s, report("healthy", 2));
      expect(sent).toEqual([]);
      await onInstanceStatus(d, s, report("stopped", 2));
      expect(sent).toEqual(["h1"]);
      expect(events.find((e) => e.type === "instance.resumed")?.message).toMatch(/web-0 \(epoch 2\) stopped on its host \(self-fenced/);
      // Once per stop, not again for each repeat of the same report (a reconnect re-sends it).
      await onInstanceStatus(d, s, report("stopped", 2));
      expect(sent).toEqual(["h1"]);
    });

    it("sends nothing for a stop that is no fence, nor when this member cannot vouch for the records", async () => {
      const cases = [
        { d: deps({ epoch: 2 }), detail: "" },
        { d: deps({ epoch: 2 }), detail: "the agent is stopping, and its service with it" },
        { d: deps({ epoch: 2 }, { health: "down" }), detail: undefined },
        { d: deps({ epoch: 2 }, { storeUnavailable: "etcd unreachable" }), detail: undefined },
      ];
      for (const c of cases) await onInstanceStatus(c.d.d, s, report("stopped", 2, c.detail));
      expect(cases.flatMap((c) => c.d.sent)).toEqual([]);
      expect(cases.flatMap((c) => c.d.events).map((e) => e.type)).not.toContain("instance.resumed");
    });

    it("sends nothing when the records moved the slot on (the copy was told to stop)", async () => {
      const moved = deps({ epoch: 3 });
      await onInstanceStatus(moved.d, s, report("stopped", 2));
      const none = deps(undefined);
      await onInstanceStatus(none.d, s, report("stopped", 2));
      expect([...moved.sent, ...none.sent]).toEqual([]);
      expect([...moved.events, ...none.events].map((e) => e.type)).not.toContain("instance.resumed");
    });
  });
});
