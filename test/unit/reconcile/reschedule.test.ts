/**
 * Rescheduling after failures (controller/reschedule/policy.ts): a failure is
 * remembered for a while and makes other hosts preferred, never a permanent ban.
 */
import { describe, expect, it } from "vitest";
import { reconcile, type HostView, type ReconcileInput, type ReconcileOutput } from "../../../controller/reconcile/planner.js";
import type { InstanceRecord, ObservedInstance, ServiceRecord } from "../../../controller/services/records.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { planApply } from "../../../controller/services/apply.js";

const T0 = 1_700_000_000_000;

function host(id: string, o: Partial<HostRecord> = {}): HostView {
  return {
    rec: { id, labels: {}, advertiseAddr: "10.0.0.1", facts: null, health: "ready", healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "", ...o },
    capacity: { cpu: 4, memoryMb: 8192, diskMb: 100_000 },
    artifacts: [],
  };
}

function service(name: string, instances: number): ServiceRecord {
  return { name, spec: normalizeSpec({ name, run: { command: "x" }, instances }), revision: 1, createdAtMs: 0, updatedAtMs: 0 };
}

function failed(i: InstanceRecord): Map<string, ObservedInstance> {
  const o: ObservedInstance = { hostId: i.hostId, service: i.service, instance: `${i.service}-${i.slot}`, epoch: i.epoch, revision: i.revision, state: "failed", detail: "apt mirror unreachable", restarts: 3, sinceMs: 0, pid: 0, resourcesEnforced: false, resourcesNote: "", installTail: "" };
  return new Map([[i.hostId, o]]);
}

/** Applies an output to the input's records, as the shell's commit does. */
function commit(input: ReconcileInput, out: ReconcileOutput): ReconcileInput {
  const byKey = new Map(input.instances.map((i) => [`${i.service}/${i.slot}`, i]));
  for (const d of out.deletes) byKey.delete(`${d.service}/${d.slot}`);
  for (const p of out.puts) byKey.set(`${p.service}/${p.slot}`, p);
  return { ...input, instances: [...byKey.values()], observed: new Map() };
}

const web0 = (s: ReconcileInput): InstanceRecord => s.instances.find((i) => i.service === "web" && i.slot === 0)!;

describe("rescheduling after failures", () => {
  it("places the instance of a 2-host fleet where both hosts failed once, after a backoff, on the host that failed longest ago", () => {
    let s: ReconcileInput = { services: [service("web", 1)], instances: [], hosts: [host("a"), host("b")], observed: new Map(), nowMs: T0 };
    s = commit(s, reconcile(s));
    const first = web0(s).hostId;
    const other = first === "a" ? "b" : "a";
    expect(first).not.toBe("");

    // It fails on its first host (a transient outage): placed on the other at once.
    s = commit(s, reconcile({ ...s, observed: failed(web0(s)), nowMs: T0 + 1_000 }));
    expect(web0(s).hostId).toBe(other);

    // And then on the other one too: it waits for the backoff, saying why, and is not unplaced.
    let out = reconcile({ ...s, observed: failed(web0(s)), nowMs: T0 + 2_000 });
    s = commit(s, out);
    expect(web0(s).hostId).toBe("");
    expect(out.unplaced.size).toBe(0);
    expect(out.held.get("web-0")).toMatch(/failed on .* in the last 1h.*next attempt/);
    expect(out.wakeAtMs).toBe(T0 + 2_000 + 30_000);

    // Before the backoff ends, nothing happens; after it, the slot is placed: on the host that failed longest ago.
    out = reconcile({ ...s, nowMs: T0 + 2_000 + 29_999 });
    expect(out.puts).toEqual([]);
    out = reconcile({ ...s, nowMs: T0 + 2_000 + 30_000 });
    s = commit(s, out);
    expect(web0(s).hostId).toBe(first);
    expect(out.events.find((e) => e.type === "instance.placed")?.message).toMatch(new RegExp(`placed on ${first}, though it failed on .* in the last 1h: no host without recent failures can take it`));
  });

  it("forgets a failure after the interval: a host that failed once long ago is as good as any", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "", epoch: 1, revision: 1, pinnedHost: "", moveTo: null, failures: [{ hostId: "a", atMs: T0 }] } satisfies InstanceRecord;
    const hosts = [host("a"), host("b", { cordoned: true })];
    const soon = reconcile({ services: [service("web", 1)], instances: [inst], hosts, observed: new Map(), nowMs: T0 + 1_000 });
    // Only a can take it: a penalty is not a ban.
    expect(soon.puts[0]?.hostId).toBe("a");
    const later = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a"), host("b")], observed: new Map(), nowMs: T0 + 3_600_000 + 1 });
    const penalized = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a"), host("b")], observed: new Map(), nowMs: T0 + 1_000 });
    expect(penalized.puts[0]?.hostId).toBe("b");
    // Expired: the choice is the one without any failure (whatever the ring says), and the note is gone.
    const fresh = reconcile({ services: [service("web", 1)], instances: [{ ...inst, failures: [] } satisfies InstanceRecord], hosts: [host("a"), host("b")], observed: new Map(), nowMs: T0 + 3_600_000 + 1 });
    expect(later.puts[0]?.hostId).toBe(fresh.puts[0]?.hostId);
    expect(later.events.find((e) => e.type === "instance.placed")?.message).not.toMatch(/failed/);
  });

  it("berth plan says why a slot is not placed yet: its failures and when it is tried again", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "", epoch: 2, revision: 1, pinnedHost: "", moveTo: null, failures: [{ hostId: "a", atMs: T0 }, { hostId: "b", atMs: T0 + 5_000 }] };
    const p = planApply({
      files: [{ file: "web.yaml", content: "name: web\nrun:\n  command: x\ninstances: 2\n", artifact_sha256: "" }],
      prune: false,
      services: [service("web", 1)],
      instances: [inst],
      hosts: [host("a"), host("b"), host("c")],
      hasArtifact: () => false,
      requireArtifacts: false,
      nowMs: T0 + 10_000,
      actor: "t",
      role: "operator",
    });
    expect(p.changes[0]?.unplaced).toEqual(["web-0: waiting to reschedule: failed on a (10s ago), b (5s ago) in the last 1h; next attempt in 25s (backoff 30s)"]);
    // The new slot is placed meanwhile, and not on a host web-0 failed on.
    expect(p.changes[0]?.place).toBe(1);
  });

  it("records a failed move's target, and moves again preferring another host", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "b", epoch: 2 } };
    const hosts = [host("a", { cordoned: true, draining: true }), host("b"), host("c")];
    const obs = failed({ ...inst, hostId: "b", epoch: 2 });
    const out = reconcile({ services: [service("web", 1)], instances: [inst], hosts, observed: obs, nowMs: T0 });
    const rec = out.puts.find((p) => p.slot === 0)!;
    expect(rec.failures).toEqual([{ hostId: "b", atMs: T0, detail: "apt mirror unreachable" }]);
    expect(rec.moveTo?.hostId).toBe("c");
    expect(out.events.map((e) => e.type)).toEqual(expect.arrayContaining(["instance.move-abandoned", "instance.moving"]));
  });
});
