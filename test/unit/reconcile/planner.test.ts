import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { reconcile, type HostView, type ReconcileInput, type ReconcileOutput } from "../../../controller/reconcile/planner.js";
import { assignments } from "../../../controller/services/records.js";
import type { InstanceRecord, ObservedInstance, ServiceRecord } from "../../../controller/services/records.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { endpointsOf } from "../../../controller/reconcile/endpoints.js";
import { selfFencedDetail } from "../../../shared/fence.js";

const NOW = 1_700_000_000_000;

function host(id: string, o: Partial<HostRecord> = {}): HostView {
  return {
    rec: { id, labels: { dc: "dc1" }, advertiseAddr: "10.0.0.1", facts: null, health: "ready", healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "", ...o },
    capacity: { cpu: 4, memoryMb: 8192, diskMb: 100_000 },
    artifacts: [],
  };
}

function service(name: string, instances: number, revision = 1): ServiceRecord {
  return { name, spec: normalizeSpec({ name, run: { command: "x" }, instances }), revision, createdAtMs: 0, updatedAtMs: 0 };
}

/** A service whose copies count in service 1 s after turning healthy and drain for 3 s. */
function timed(name: string, instances: number): ServiceRecord {
  return { name, spec: normalizeSpec({ name, run: { command: "x" }, instances, update: { minHealthyTime: "1s", drainTime: "3s" } }), revision: 1, createdAtMs: 0, updatedAtMs: 0 };
}

function observed(hostId: string, i: Pick<InstanceRecord, "service" | "slot">, epoch: number, state: ObservedInstance["state"]): [string, ObservedInstance] {
  return [hostId, { hostId, service: i.service, instance: `${i.service}-${i.slot}`, epoch, revision: 1, state, detail: state === "failed" ? "exit 1" : "", restarts: 0, sinceMs: NOW, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" }];
}

/** Applies an output to the input's records, as the shell's commit does. */
function apply(input: ReconcileInput, out: ReconcileOutput): ReconcileInput {
  const byKey = new Map(input.instances.map((i) => [`${i.service}/${i.slot}`, i]));
  for (const d of out.deletes) byKey.delete(`${d.service}/${d.slot}`);
  for (const p of out.puts) byKey.set(`${p.service}/${p.slot}`, p);
  return { ...input, instances: [...byKey.values()] };
}

describe("reconcile", () => {
  it("places a new service one instance per host with epoch 1", () => {
    const out = reconcile({ services: [service("web", 2)], instances: [], hosts: [host("a"), host("b"), host("c")], observed: new Map(), nowMs: NOW });
    expect(out.puts).toHaveLength(2);
    expect(new Set(out.puts.map((p) => p.hostId)).size).toBe(2);
    expect(out.puts.every((p) => p.epoch === 1 && p.revision === 1 && p.moveTo === null)).toBe(true);
    expect(out.events.filter((e) => e.type === "instance.placed")).toHaveLength(2);
  });

  it("a scaled-down copy leaves the endpoints first and stops drainTime later; scaled up again meanwhile, it is back in service", () => {
    const a: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: null };
    const b: InstanceRecord = { service: "web", slot: 1, hostId: "b", epoch: 1, revision: 1, pinnedHost: "", moveTo: null };
    const hosts = [host("a"), host("b")];
    const recs = new Map(hosts.map((h) => [h.rec.id, h.rec]));
    const obs = new Map([observed("a", a, 1, "healthy"), observed("b", b, 1, "healthy")]);
    const one = timed("web", 1); // drainTime 3 s
    const pass = (svc: ServiceRecord, instances: InstanceRecord[], nowMs: number) => reconcile({ services: [svc], instances, hosts, observed: obs, nowMs });
    const eps = (svc: ServiceRecord, instances: InstanceRecord[], nowMs: number) => endpointsOf(svc, instances, recs, obs, nowMs).map((e) => e.host);

    const down = pass(one, [a, b], NOW + 10_000);
    expect(down.deletes).toEqual([]);
    expect(down.puts).toEqual([{ ...b, scaledDown: true, drainingSinceMs: NOW + 10_000 }]);
    expect(down.wakeAtMs).toBe(NOW + 13_000);
    expect(eps(one, down.after, NOW + 10_000)).toEqual(["a"]);
    // Still assigned: it runs until its drain is over.
    expect([...assignments(down.after)].map(([h]) => h).sort()).toEqual(["a", "b"]);
    expect(down.events.find((e) => e.type === "instance.draining")?.message).toBe("web-1 left the endpoints: scaled down; it stops in 3s (drainTime)");

    const early = pass(one, down.after, NOW + 12_999);
    expect(early.deletes).toEqual([]);
    expect(early.wakeAtMs).toBe(NOW + 13_000);
    const over = pass(one, down.after, NOW + 13_000);
    expect(over.deletes).toEqual([{ service: "web", slot: 1 }]);
    expect(over.events.map((e) => e.type)).toContain("instance.stopped");

    // Scaled up again before then: the same copy is back in the endpoints, not restarted.
    const back = pass(timed("web", 2), down.after, NOW + 11_000);
    expect(back.deletes).toEqual([]);
    expect(back.puts).toEqual([{ ...b, drainingSinceMs: null }]);
    expect(eps(timed("web", 2), back.after, NOW + 11_000)).toEqual(["a", "b"]);

    // drainTime 0, or the service deleted: it stops at once, as before.
    const noDrain: ServiceRecord = { name: "web", spec: normalizeSpec({ name: "web", run: { command: "x" }, instances: 1, update: { drainTime: "0s" } }), revision: 1, createdAtMs: 0, updatedAtMs: 0 };
    expect(pass(noDrain, [a, b], NOW).deletes).toEqual([{ service: "web", slot: 1 }]);
    expect(reconcile({ services: [], instances: [a, b], hosts, observed: obs, nowMs: NOW }).deletes).toHaveLength(2);
  });

  it("finishes a move only when the new copy reports healthy with the new epoch", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "b", moveTo: { hostId: "b", epoch: 2 } };
    const base = { services: [service("web", 1)], instances: [inst], hosts: [host("a"), host("b")], nowMs: NOW };
    // Both copies run meanwhile: a on epoch 1, b on epoch 2.
    expect([...assignments([inst])].map(([h, a]) => [h, a.epoch])).toEqual([["a", 1], ["b", 2]]);
    const starting = reconcile({ ...base, observed: new Map([observed("b", inst, 2, "starting")]) });
    expect(starting.puts).toEqual([]);
    const stale = reconcile({ ...base, observed: new Map([observed("b", inst, 1, "healthy")]) });
    expect(stale.puts).toEqual([]);
    // In service (healthy for minHealthyTime, 5 s by default): the old copy drains (drainTime, 5 s), then stops.
    const later = NOW + 5000;
    const draining = reconcile({ ...base, observed: new Map([observed("b", inst, 2, "healthy")]), nowMs: later });
    expect(draining.puts).toEqual([{ ...inst, moveTo: { hostId: "b", epoch: 2, drained: true }, drainingSinceMs: later }]);
    const done = reconcile({ ...base, instances: draining.puts, observed: new Map([observed("b", inst, 2, "healthy")]), nowMs: later + 5000 });
    expect(done.puts).toEqual([{ ...inst, hostId: "b", epoch: 2, moveTo: null, drainingSinceMs: null }]);
    expect([...assignments(done.puts)].map(([h]) => h)).toEqual(["b"]); // a gets "none": its copy stops
  });

  it("a move takes no old copy out of the endpoints before takeOutFromMs (a new leader's grace for followers of the endpoints), then does", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "b", moveTo: { hostId: "b", epoch: 2 } };
    const svc = timed("web", 1);
    const obs = new Map([observed("a", inst, 1, "healthy"), observed("b", inst, 2, "healthy")]);
    const at = (nowMs: number) => reconcile({ services: [svc], instances: [inst], hosts: [host("a"), host("b")], observed: obs, nowMs, takeOutFromMs: NOW + 5000 });
    // In service since NOW + 1000, but the leader's grace runs to NOW + 5000: both copies stay in the endpoints.
    const held = at(NOW + 1000);
    expect(held.puts).toEqual([]);
    expect(held.wakeAtMs).toBe(NOW + 5000);
    const drained = at(NOW + 5000);
    expect(drained.puts).toEqual([{ ...inst, moveTo: { hostId: "b", epoch: 2, drained: true }, drainingSinceMs: NOW + 5000 }]);
  });

  it("a move (host drain, pin) takes the old copy out of the endpoints once the new one is in service, and stops it only after drainTime", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "b", moveTo: { hostId: "b", epoch: 2 } };
    const svc = timed("web", 1);
    const hosts = [host("a"), host("b")];
    const recs = new Map(hosts.map((h) => [h.rec.id, h.rec]));
    const obs = new Map([observed("a", inst, 1, "healthy"), observed("b", inst, 2, "healthy")]);
    const at = (nowMs: number, instances: InstanceRecord[]) => reconcile({ services: [svc], instances, hosts, observed: obs, nowMs });
    const eps = (instances: InstanceRecord[], nowMs: number) => endpointsOf(svc, instances, recs, obs, nowMs).map((e) => `${e.host}:${e.epoch}`);

    // Healthy, not yet in service: both copies stay, and the loop is told when to look again.
    const warming = at(NOW + 500, [inst]);
    expect(warming.puts).toEqual([]);
    expect(warming.wakeAtMs).toBe(NOW + 1000);
    // In service: the old copy leaves the endpoints first, and keeps running.
    const drained = at(NOW + 1000, [inst]);
    expect(drained.puts).toEqual([{ ...inst, moveTo: { hostId: "b", epoch: 2, drained: true }, drainingSinceMs: NOW + 1000 }]);
    expect(drained.wakeAtMs).toBe(NOW + 4000);
    expect([...assignments(drained.puts)].map(([h]) => h).sort()).toEqual(["a", "b"]);
    expect(eps(drained.after, NOW + 1000)).toEqual(["b:2"]);
    expect(drained.events.map((e) => e.type)).toContain("instance.draining");
    // drainTime not over: nothing changes.
    expect(at(NOW + 3999, drained.after).puts).toEqual([]);
    // drainTime over: the slot moves, the old copy stops.
    const moved = at(NOW + 4000, drained.after);
    expect(moved.puts).toEqual([{ ...inst, hostId: "b", epoch: 2, moveTo: null, drainingSinceMs: null }]);
    expect(moved.events.map((e) => e.type)).toContain("instance.moved");
  });

  it("a move whose new copy fails or turns unhealthy while the old one drains is abandoned, and the old copy is back in service", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "b", epoch: 2, drained: true }, drainingSinceMs: NOW };
    const hosts = [host("a"), host("b")];
    const failed = reconcile({ services: [timed("web", 1)], instances: [inst], hosts, observed: new Map([observed("b", inst, 2, "failed")]), nowMs: NOW + 1000 });
    expect(failed.puts.find((p) => p.slot === 0)).toMatchObject({ hostId: "a", moveTo: null, drainingSinceMs: null });
    const unhealthy = reconcile({ services: [timed("web", 1)], instances: [inst], hosts, observed: new Map([observed("b", inst, 2, "unhealthy")]), nowMs: NOW + 3000 });
    expect(unhealthy.puts.find((p) => p.slot === 0)).toMatchObject({ hostId: "a", drainingSinceMs: null });
    expect(unhealthy.events.map((e) => e.type)).toContain("instance.move-abandoned");
  });

  it("a move whose old host is lost finishes at once: there is nothing to drain", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "b", epoch: 2 } };
    const out = reconcile({ services: [timed("web", 1)], instances: [inst], hosts: [host("a", { health: "down" }), host("b")], observed: new Map([observed("b", inst, 2, "starting")]), nowMs: NOW });
    // The old copy on a host judged down may still run there: noted on the record.
    expect(out.puts).toEqual([{ ...inst, hostId: "b", epoch: 2, moveTo: null, drainingSinceMs: null, leftOn: [{ hostId: "a", epoch: 1, atMs: NOW }] }]);
    expect(out.events.find((e) => e.type === "instance.moved")?.message).toBe("web-0 moved from a (its old host is gone); if it still runs on a (a host cut off rather than stopped), its agent stops it when the host is back");
  });

  it("notes a copy replaced on a host judged down as maybe still running there, until that host is ready again, removed or forgotten", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 3, revision: 1, pinnedHost: "", moveTo: null };
    const svc = service("web", 1);
    const pass = (instances: InstanceRecord[], hosts: HostView[], nowMs = NOW) => reconcile({ services: [svc], instances, hosts, observed: new Map(), nowMs });

    const lost = pass([inst], [host("a", { health: "down" }), host("b")]);
    const replaced = lost.after.find((i) => i.slot === 0)!;
    expect(replaced).toMatchObject({ hostId: "b", epoch: 4, leftOn: [{ hostId: "a", epoch: 3, atMs: NOW }] });
    expect(lost.events.find((e) => e.type === "instance.lost")?.message).toBe("web-0 (epoch 3) lost with its host; replacing it on a spare; if it still runs on a (a host cut off rather than stopped), its agent stops it when the host is back");
    // Stable while the host stays down, and while it is back but still fencing the old copy.
    expect(pass(lost.after, [host("a", { health: "down" }), host("b")], NOW + 60_000).puts).toEqual([]);
    expect(pass(lost.after, [host("a", { health: "joining" }), host("b")], NOW + 60_000).puts).toEqual([]);
    // Ready again (its agent stopped the superseded copy first), or gone from the fleet: the note goes.
    const { leftOn: _note, ...clean } = replaced;
    expect(pass(lost.after, [host("a"), host("b")], NOW + 60_000).puts).toEqual([clean]);
    expect(pass(lost.after, [host("b")], NOW + 60_000).puts).toEqual([clean]);

    // Lost again elsewhere: both notes, the newest last; one host noted once.
    const again = pass(lost.after, [host("a", { health: "down" }), host("b", { health: "down" }), host("c")], NOW + 1000);
    expect(again.after.find((i) => i.slot === 0)?.leftOn).toEqual([
      { hostId: "a", epoch: 3, atMs: NOW },
      { hostId: "b", epoch: 4, atMs: NOW + 1000 },
    ]);
  });

  it("notes a move's new copy on a target judged down, the old copy staying the slot's", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "b", epoch: 2 } };
    const out = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a"), host("b", { health: "down" })], observed: new Map([observed("b", inst, 2, "healthy")]), nowMs: NOW });
    expect(out.after[0]).toMatchObject({ hostId: "a", epoch: 1, moveTo: null, leftOn: [{ hostId: "b", epoch: 2, atMs: NOW }] });
    expect(out.events.find((e) => e.type === "instance.move-abandoned")?.message).toBe("web-0: the new host is gone; if it still runs on b (a host cut off rather than stopped), its agent stops it when the host is back");
  });

  it("keeps a removed host's note (a cut-off agent learns of its removal only when it reconnects), and says where a deleted slot's copy may still run", () => {
    const inst: InstanceRecord = { service: "web", slot: 1, hostId: "", epoch: 3, revision: 1, pinnedHost: "", moveTo: null, leftOn: [{ hostId: "a", epoch: 3, atMs: NOW }] };
    const removed = reconcile({ services: [service("web", 2)], instances: [inst], hosts: [], observed: new Map(), nowMs: NOW, removedHosts: new Set(["a"]) });
    expect(removed.after.find((i) => i.slot === 1)?.leftOn).toEqual([{ hostId: "a", epoch: 3, atMs: NOW }]);
    // Scaled down while host a is still down: the record goes, and the event says it once more.
    const scaled = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a", { health: "down" })], observed: new Map(), nowMs: NOW });
    expect(scaled.deletes).toEqual([{ service: "web", slot: 1 }]);
    expect(scaled.events.filter((e) => e.host === "a").map((e) => e.message)).toEqual(["web-1 (epoch 3) is no longer wanted (scaled down); if it still runs on a, a host judged down, its agent stops it when the host is back"]);
  });

  it("judges a lost copy by the spec of the revision it runs, not the service's newest: its own stopAfterDisconnect fences it", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: null };
    const fencing = normalizeSpec({ name: "web", run: { command: "x" }, instances: 1, failover: { stopAfterDisconnect: "5s" } });
    const plain = normalizeSpec({ name: "web", run: { command: "x" }, instances: 1 });
    // Host a last heard 1 s ago: a copy that fences itself there is not stopped yet.
    const hosts = [{ ...host("a", { health: "down" }), lastHeartbeatMs: NOW - 1000 }, host("b")];
    const f = { paused: false, controllerStartedAtMs: NOW - 60_000 };
    // Revision 1 (what runs) fences itself; revision 2 would not: the replacement still waits out revision 1's fence.
    const toPlain: ServiceRecord = { name: "web", spec: plain, revision: 2, createdAtMs: 0, updatedAtMs: 0, history: [{ revision: 1, spec: fencing }] };
    // A rollout under way from 1 to 2 (its own machine changes revisions, not this pass).
    const rollouts = new Set(["web"]);
    const waits = reconcile({ services: [toPlain], instances: [inst], hosts, observed: new Map(), nowMs: NOW, failover: f, rollouts });
    expect(waits.puts).toEqual([]);
    expect(waits.held.get("web-0")).toMatch(/^waiting for the lost copy to fence itself/);
    // Revision 1 does not fence itself; revision 2 would: replaced at once, and noted.
    const toFencing: ServiceRecord = { name: "web", spec: fencing, revision: 2, createdAtMs: 0, updatedAtMs: 0, history: [{ revision: 1, spec: plain }] };
    const now = reconcile({ services: [toFencing], instances: [inst], hosts, observed: new Map(), nowMs: NOW, failover: f, rollouts });
    expect(now.after[0]).toMatchObject({ hostId: "b", epoch: 2, leftOn: [{ hostId: "a", epoch: 1, atMs: NOW }] });
  });

  it("notes nothing when the lost copy stops itself (failover.stopAfterDisconnect): the replacement waits for that", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: null };
    const svc: ServiceRecord = { name: "web", spec: normalizeSpec({ name: "web", run: { command: "x" }, instances: 1, failover: { stopAfterDisconnect: "5s" } }), revision: 1, createdAtMs: 0, updatedAtMs: 0 };
    const out = reconcile({ services: [svc], instances: [inst], hosts: [host("a", { health: "down" }), host("b")], observed: new Map(), nowMs: NOW, failover: { paused: false, controllerStartedAtMs: NOW - 60_000 } });
    expect(out.after[0]).toMatchObject({ hostId: "b", epoch: 2 });
    expect(out.after[0]!.leftOn).toBeUndefined();
    expect(out.events.find((e) => e.type === "instance.lost")?.message).toBe("web-0 (epoch 1) lost with its host; replacing it on a spare");
  });

  it("abandons a move whose target goes down, keeping the old copy", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "b", epoch: 2 } };
    const out = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a"), host("b", { health: "down" })], observed: new Map(), nowMs: NOW });
    expect(out.puts[0]).toMatchObject({ hostId: "a", epoch: 1, moveTo: null });
  });

  it("replaces at once the instance of a host removed by berth host remove, and only of such a host", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "gone", epoch: 2, revision: 1, pinnedHost: "", moveTo: null };
    const base = { services: [service("web", 1)], instances: [inst], hosts: [host("b")], observed: new Map(), nowMs: NOW };
    // Missing for another reason (an unreadable record): held where it is.
    expect(reconcile(base).puts).toEqual([]);
    const out = reconcile({ ...base, removedHosts: new Set(["gone"]) });
    expect(out.puts).toEqual([expect.objectContaining({ hostId: "b", epoch: 3 })]);
    expect(out.events.find((e) => e.type === "instance.lost")?.message).toMatch(/its host was removed/);
  });

  it("places an instance that failed for good elsewhere, with a new epoch, never back on the same host", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 3, revision: 1, pinnedHost: "", moveTo: null };
    const out = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a"), host("b")], observed: new Map([observed("a", inst, 3, "failed")]), nowMs: NOW });
    expect(out.puts).toEqual([{ ...inst, hostId: "b", epoch: 4, lastEpoch: 4, failures: [{ hostId: "a", atMs: NOW, detail: "exit 1" }] }]);
    expect(out.events.map((e) => e.type)).toEqual(expect.arrayContaining(["instance.failed", "instance.placed"]));
  });

  it("a copy moving off a draining host is not reported as stuck there, though its move took the one spare", () => {
    const i: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: { hostId: "b", epoch: 2, revision: 1 } };
    const out = reconcile({ services: [service("web", 1)], instances: [i], hosts: [host("a", { draining: true }), host("b")], observed: new Map(), nowMs: NOW });
    expect([...out.held.keys()]).toEqual([]);
    expect([...out.unplaced.keys()]).toEqual([]);
    expect([...out.stuck]).toEqual([]);
    // Without a move under way, the same slot is stuck and says why.
    const still = reconcile({ services: [service("web", 1)], instances: [{ ...i, moveTo: null }], hosts: [host("a", { draining: true }), host("b", { cordoned: true })], observed: new Map(), nowMs: NOW });
    expect(still.held.get("web-0")).toMatch(/^stays on a, which is draining, until another host can take it: no spare host/);
    // Said as a fact too, for `drain --wait` to end on without reading the words.
    expect([...still.stuck]).toEqual(["web-0"]);
  });

  it("gives back a copy that fenced itself on a host not judged down: the same copy, marked once per stop, so its assignment goes again", () => {
    const i: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 2, revision: 1, pinnedHost: "", moveTo: null };
    const fenced = (host: string, rec: InstanceRecord, epoch: number, detail = selfFencedDetail(3100, 3000), sinceMs = NOW): [string, ObservedInstance] => {
      const [h, o] = observed(host, rec, epoch, "stopped");
      return [h, { ...o, detail, sinceMs }];
    };
    const input = (health: HostRecord["health"], obs: [string, ObservedInstance][], rec = i): ReconcileInput => ({
      services: [service("web", 1)],
      instances: [rec],
      hosts: [host("a", { health }), host("b"), host("c")],
      observed: new Map(obs),
      nowMs: NOW + 5_000,
    });
    const out = reconcile(input("ready", [fenced("a", i, 2)]));
    // The same copy (epoch 2, host a): nothing else about the slot changes.
    expect(out.puts).toEqual([{ ...i, resumed: [{ hostId: "a", epoch: 2, sinceMs: NOW }] }]);
    expect(out.events.find((e) => e.type === "instance.resumed")?.message).toMatch(/^web-0 \(epoch 2\) stopped itself on a \(self-fenced: .*\), a host not judged down: its assignment is sent again$/);
    // The next pass, the same report: done already.
    const again = apply(input("ready", [fenced("a", i, 2)]), out);
    expect(reconcile(again).puts).toEqual([]);
    // The copy fences again later (a new stop): marked anew.
    expect(reconcile({ ...again, observed: new Map([fenced("a", i, 2, undefined, NOW + 60_000)]) }).puts[0]?.resumed).toEqual([{ hostId: "a", epoch: 2, sinceMs: NOW + 60_000 }]);
    // The same stop said again to a restarted controller, whose `now − age` lands a few ms
    // off: not a new stop (two are at least stopAfterDisconnect apart).
    const fencing: ServiceRecord = { ...service("web", 1), spec: normalizeSpec({ name: "web", run: { command: "x" }, failover: { stopAfterDisconnect: "3s" } }) };
    const restarted = { ...again, services: [fencing] };
    expect(reconcile({ ...restarted, observed: new Map([fenced("a", i, 2, undefined, NOW + 7)]) }).puts).toEqual([]);
    expect(reconcile({ ...restarted, observed: new Map([fenced("a", i, 2, undefined, NOW + 3_000)]) }).puts[0]?.resumed).toEqual([{ hostId: "a", epoch: 2, sinceMs: NOW + 3_000 }]);
    // Any other stop is the agent's own business (told to stop, shutting down): left as it is.
    expect(reconcile(input("ready", [fenced("a", i, 2, "the agent is stopping, and its service with it")])).puts).toEqual([]);
    // A host judged down: failover decides (and waits out the fence), not this.
    expect(reconcile(input("down", [fenced("a", i, 2)])).events.map((e) => e.type)).not.toContain("instance.resumed");
    // A copy the records moved on (a failover took the next epoch elsewhere) reports an old epoch: nothing.
    expect(reconcile(input("ready", [fenced("a", i, 2)], { ...i, hostId: "b", epoch: 3 })).events.map((e) => e.type)).not.toContain("instance.resumed");
    // A move in flight: both copies fenced (a stalled controller silences every agent at once), both given back.
    const moving: InstanceRecord = { ...i, moveTo: { hostId: "c", epoch: 3, revision: 1 } };
    const both = reconcile(input("ready", [fenced("a", moving, 2), fenced("c", moving, 3)], moving));
    expect(both.puts).toEqual([{ ...moving, resumed: [{ hostId: "a", epoch: 2, sinceMs: NOW }, { hostId: "c", epoch: 3, sinceMs: NOW }] }]);
    expect(both.events.filter((e) => e.type === "instance.resumed").map((e) => e.host)).toEqual(["a", "c"]);
  });

  it("never reuses the epoch of an abandoned move, which may still run on its lost host", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "c", moveTo: { hostId: "b", epoch: 2 } };
    const abandoned = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a"), host("b", { health: "down" }), host("c")], observed: new Map(), nowMs: NOW });
    const moving = abandoned.puts.find((p) => p.slot === 0)!;
    expect(moving.moveTo).toEqual({ hostId: "c", epoch: 3, revision: 1 });
    expect(moving.lastEpoch).toBe(3);
  });

  it("explains an instance no host can take, and keeps it pending", () => {
    const out = reconcile({ services: [service("web", 2)], instances: [], hosts: [host("a"), host("b", { cordoned: true })], observed: new Map(), nowMs: NOW });
    const pending = out.puts.filter((p) => !p.hostId);
    expect(pending).toHaveLength(1);
    expect(out.unplaced.get(`web-${pending[0]!.slot}`)).toMatch(/no spare host: .*cordoned/);
  });

  it("drains a host through a health-gated move, and reports it drained once empty", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: null };
    const hosts = [host("a", { cordoned: true, draining: true }), host("b")];
    const out = reconcile({ services: [service("web", 1)], instances: [inst], hosts, observed: new Map(), nowMs: NOW });
    expect(out.puts[0]).toMatchObject({ hostId: "a", moveTo: { hostId: "b", epoch: 2 } });
    expect(out.drained).toEqual([]);
    const obs = new Map([observed("b", inst, 2, "healthy")]);
    // In service (minHealthyTime 5 s): the old copy drains, the host is not done yet.
    const draining = reconcile({ services: [service("web", 1)], instances: out.puts, hosts, observed: obs, nowMs: NOW + 5000 });
    expect(draining.puts[0]).toMatchObject({ hostId: "a", drainingSinceMs: NOW + 5000 });
    expect(draining.drained).toEqual([]);
    // After drainTime (5 s) the slot moves and the host is drained.
    const moved = reconcile({ services: [service("web", 1)], instances: draining.after, hosts, observed: obs, nowMs: NOW + 10_000 });
    expect(moved.puts[0]).toMatchObject({ hostId: "b", moveTo: null });
    expect(moved.drained).toEqual(["a"]);
  });

  it("runs a new revision in place, and stops the instances of a deleted service", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 1, revision: 1, pinnedHost: "", moveTo: null };
    const bumped = reconcile({ services: [service("web", 1, 2)], instances: [inst], hosts: [host("a")], observed: new Map(), nowMs: NOW });
    expect(bumped.puts).toEqual([{ ...inst, revision: 2 }]);
    const deleted = reconcile({ services: [], instances: [inst], hosts: [host("a")], observed: new Map(), nowMs: NOW });
    expect(deleted.deletes).toEqual([{ service: "web", slot: 0 }]);
  });

  it("property: converges in one pass, never gives a host two instances, and then has nothing to do", () => {
    const arb = fc.record({
      hosts: fc.array(fc.record({ ready: fc.boolean(), cordoned: fc.boolean() }), { minLength: 1, maxLength: 12 }),
      services: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(arb, ({ hosts, services }) => {
        let input: ReconcileInput = {
          services: services.map((n, i) => service(`s${i}`, n)),
          instances: [],
          hosts: hosts.map((h, i) => host(`h${i}`, { health: h.ready ? "ready" : "down", cordoned: h.cordoned })),
          observed: new Map(),
          nowMs: NOW,
        };
        input = apply(input, reconcile(input));
        const placed = input.instances.filter((i) => i.hostId);
        expect(new Set(placed.map((i) => i.hostId)).size).toBe(placed.length);
        const usable = hosts.filter((h) => h.ready && !h.cordoned).length;
        expect(placed.length).toBe(Math.min(usable, services.reduce((a, b) => a + b, 0)));
        const again = reconcile(input);
        expect(again.puts.filter((p) => p.hostId)).toEqual([]);
        expect(again.deletes).toEqual([]);
      }),
    );
  });
});

describe("a failed install's output outlives its copy", () => {
  it("is kept on the slot's failure entry for that host, with the step and exit code, bounded", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 3, revision: 1, pinnedHost: "", moveTo: null };
    const [h, o] = observed("a", inst, 3, "failed");
    const tail = "x".repeat(10_000) + "\n[berth] step 2/2: false\n[berth] install failed after 0.1 s: step 2 (false) exited with code 1\n";
    const failed = { ...o, detail: "installing: step 2 (false) exited with code 1", installTail: tail };
    const out = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a")], observed: new Map([[h, failed]]), nowMs: NOW });
    const f = out.puts[0]!.failures!;
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ hostId: "a", atMs: NOW, detail: "installing: step 2 (false) exited with code 1" });
    expect(f[0]!.output!.length).toBeLessThanOrEqual(4096);
    expect(f[0]!.output).toMatch(/step 2 \(false\) exited with code 1\n$/);
  });

  it("a crash loop's last lines are kept as its output, its first line as the detail", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "a", epoch: 3, revision: 1, pinnedHost: "", moveTo: null };
    const [h, o] = observed("a", inst, 3, "failed");
    const failed = { ...o, detail: "crash loop: exited with code 3 after 4ms: 11 times in a row, each within 30s of starting\nlast output:\nstarting\nbad config: /etc/app.conf" };
    const out = reconcile({ services: [service("web", 1)], instances: [inst], hosts: [host("a")], observed: new Map([[h, failed]]), nowMs: NOW });
    expect(out.puts[0]!.failures).toEqual([{ hostId: "a", atMs: NOW, detail: "crash loop: exited with code 3 after 4ms: 11 times in a row, each within 30s of starting", output: "starting\nbad config: /etc/app.conf" }]);
  });
});
