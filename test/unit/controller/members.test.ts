/**
 * A controller group's members on ONE store (issue 11), without etcd: a LevelDB
 * store opened once and shared by two members' in-memory state — what every
 * member holds (ServiceState, HostRegistry, EventLog, the assignment pusher) —
 * with member A leading (its reconcile loop runs) and B only serving.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Store } from "../../../controller/store/store.js";
import { EventLog } from "../../../controller/events/event-log.js";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import { ServiceState } from "../../../controller/services/state.js";
import { ReconcileLoop } from "../../../controller/reconcile/loop.js";
import { AssignmentPusher } from "../../../controller/member/assignments.js";
import { closeStreamsOfDownHosts } from "../../../controller/member/host-changes.js";
import { createLogger } from "../../../shared/log/logger.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import type { ServiceRecord } from "../../../controller/services/records.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import { until } from "../until.js";
import { tempStores } from "../fixtures/store.js";

const T0 = 1_700_000_000_000;
const log = createLogger("test", "silent");

function service(name: string, instances: number): ServiceRecord {
  return { name, spec: normalizeSpec({ name, run: { command: "x" }, instances }), revision: 1, createdAtMs: T0, updatedAtMs: T0 };
}
function host(id: string): HostRecord {
  return { id, labels: {}, advertiseAddr: "127.0.0.1", facts: null, health: "ready", healthSinceMs: T0, cordoned: false, joinedAtMs: T0, certSerial: "" };
}

interface Member {
  events: EventLog;
  registry: HostRegistry;
  state: ServiceState;
  pusher: AssignmentPusher;
  loop: ReconcileLoop;
  close(): Promise<void>;
}

/** A member's state over the shared store, loaded and following it; `follow` false: loaded only (the test follows later). */
async function member(store: Store, o: { follow?: boolean } = {}): Promise<Member> {
  const events = new EventLog(store, () => T0);
  await events.init();
  const registry = new HostRegistry(store, events);
  await registry.load();
  const state = new ServiceState(store, events);
  await state.load();
  if (o.follow !== false) {
    await registry.follow();
    await state.follow();
  }
  const pusher = new AssignmentPusher(state, registry);
  const unsub = closeStreamsOfDownHosts(registry, log);
  const loop = new ReconcileLoop({ state, registry, log, now: () => T0, failover: () => ({ paused: false, controllerStartedAtMs: T0 }) });
  return {
    events,
    registry,
    state,
    pusher,
    loop,
    async close() {
      await loop.stop();
      unsub();
      pusher.close();
      state.unfollow();
      registry.unfollow();
    },
  };
}

describe("members of a group on one store", () => {
  const stores = tempStores();
  const members: Member[] = [];
  afterEach(async () => {
    for (const m of members.splice(0)) await m.close();
  });
  const open = async (): Promise<Store> => (await stores.open({ clock: () => T0 })).store;
  /** Members A and B on one store, host h1 joined through `via` and seen by the other. */
  const pairWithHost = async (via: "a" | "b"): Promise<{ a: Member; b: Member }> => {
    const s = await open();
    const a = await member(s);
    const b = await member(s);
    members.push(a, b);
    const [joins, sees] = via === "a" ? [a, b] : [b, a];
    expect(await joins.registry.create(host("h1"), { compares: [], ops: [] }, { type: "host.joined", host: "h1", message: "joined" })).toBe(true);
    await until(() => sees.registry.get("h1") !== undefined, `${via === "a" ? "B" : "A"} to see the host ${via.toUpperCase()} admitted`);
    return { a, b };
  };

  it("an apply through member B is planned by leader A, and A's placement reaches the agent stream B holds", async () => {
    // The host joins through B (B writes its record); A learns of it through the watch.
    const { a, b } = await pairWithHost("b");
    // B holds h1's agent stream.
    const sent: { msg: ControllerMessage; at: number }[] = [];
    const live = b.registry.liveOf("h1");
    live.send = (msg) => void sent.push({ msg, at: performance.now() });
    live.streamId = 1;
    b.pusher.sendTo("h1");
    expect(sent.map((x) => x.msg.assignment?.service)).toEqual([""]);

    a.loop.start(); // A leads
    // The operator's apply goes through B.
    expect(await b.state.commit({ putServices: [service("web", 1)], events: [{ type: "service.created", service: "web", message: "web created" }] })).toBe(true);
    // A plans it: the placement is A's commit, B pushes it to the stream it holds.
    await until(() => a.state.instancesOf("web")[0]?.hostId === "h1", "A to place web on h1");
    const placedAt = performance.now();
    await until(() => sent.some((x) => x.msg.assignment?.instance === "web-0"), "B to push web-0 to h1's stream");
    const pushed = sent.find((x) => x.msg.assignment?.instance === "web-0")!;
    expect(pushed.msg.assignment).toMatchObject({ service: "web", instance: "web-0", epoch: a.state.instancesOf("web")[0]!.epoch });
    // Driven by B's watch, not by A: well within 100 ms of A seeing its own commit.
    expect(pushed.at - placedAt).toBeLessThan(100);
    // B never decided anything: its loop is not running.
    expect(b.state.instancesOf("web")).toEqual(a.state.instancesOf("web"));
  });

  it("a copy the leader marks as given back after a self-fence is sent again, unchanged, by the member holding its stream: once per mark", async () => {
    const { a, b } = await pairWithHost("b");
    const sent: ControllerMessage[] = [];
    const live = b.registry.liveOf("h1");
    live.send = (msg) => void sent.push(msg);
    live.streamId = 1;
    const inst = { service: "web", slot: 0, hostId: "h1", epoch: 2, revision: 1, pinnedHost: "", moveTo: null };
    expect(await a.state.commit({ putServices: [service("web", 1)], putInstances: [inst], events: [] })).toBe(true);
    await until(() => sent.length === 1, "B to push web-0");
    const assignments = (): unknown[] => sent.map((m) => m.assignment);
    // A change that leaves h1's assignment as it was (another host's copy marked) sends nothing.
    expect(await a.state.commit({ putInstances: [{ ...inst, resumed: [{ hostId: "h9", epoch: 2, sinceMs: T0 }] }], events: [] })).toBe(true);
    // The mark for h1's own copy: the same assignment once more.
    expect(await a.state.commit({ putInstances: [{ ...inst, resumed: [{ hostId: "h1", epoch: 2, sinceMs: T0 }] }], events: [] })).toBe(true);
    await until(() => sent.length === 2, "B to send web-0 again");
    expect(assignments()[1]).toEqual(assignments()[0]);
    // Written again unchanged (another field moves): nothing more.
    expect(await a.state.commit({ putInstances: [{ ...inst, resumed: [{ hostId: "h1", epoch: 2, sinceMs: T0 }], drainingSinceMs: null }], events: [] })).toBe(true);
    await until(() => b.state.instancesOf("web")[0]?.drainingSinceMs === null, "B to see the last write");
    expect(sent).toHaveLength(2);
  });

  it("a host the leader declares down has its stream closed by the member holding it", async () => {
    const { a, b } = await pairWithHost("a");
    let closed = "";
    const live = b.registry.liveOf("h1");
    live.send = () => undefined;
    live.disconnect = (why) => void (closed = why);
    live.connectedAtMs = T0 - 1;
    await a.registry.update("h1", (r) => ({ rec: { ...r, health: "down", healthSinceMs: T0 }, event: { type: "host.down", host: "h1", message: "down" } }));
    await until(() => closed !== "", "B to close h1's stream");
    expect(closed).toBe("host declared down");
    expect(live.send).toBeUndefined();
  });

  it("events appended by both members get distinct sequence numbers", async () => {
    const s = await open();
    const a = await member(s);
    const b = await member(s);
    members.push(a, b);
    const appended = await Promise.all(
      Array.from({ length: 10 }, (_, i) => [a.events.append({ type: "t", message: `a${i}` }), b.events.append({ type: "t", message: `b${i}` })]).flat(),
    );
    // And inside state changes: one through each member at once.
    await Promise.all([
      a.state.commit({ putServices: [service("x", 0)], events: [{ type: "service.created", message: "x" }] }),
      b.state.commit({ putServices: [service("y", 0)], events: [{ type: "service.created", message: "y" }] }),
    ]);
    const seqs = appended.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(20);
    const listed = await a.events.list({ limit: 100 });
    expect(listed).toHaveLength(22);
    expect(new Set(listed.map((e) => e.seq)).size).toBe(22);
  });

  it("nothing written between a member's load and its watch is missed", async () => {
    const s = await open();
    const a = await member(s);
    members.push(a);
    // B loads, then A writes before B follows: the watch starts from the revision B loaded at.
    const b = await member(s, { follow: false });
    members.push(b);
    expect(await a.state.commit({ putServices: [service("raced", 1)] })).toBe(true);
    await a.registry.create(host("h9"), { compares: [], ops: [] }, { type: "host.joined", host: "h9", message: "joined" });
    expect(b.state.service("raced")).toBeUndefined();
    await b.state.follow();
    await b.registry.follow();
    await until(() => b.state.service("raced") !== undefined && b.registry.get("h9") !== undefined, "B to catch up from its load revision");
    // And its own later write is a compare-and-set on what it now holds.
    expect(await b.state.commit({ putServices: [{ ...service("raced", 2), revision: 2 }] })).toBe(true);
    await until(() => a.state.service("raced")?.spec.instances === 2, "A to see B's update");
  });
});
