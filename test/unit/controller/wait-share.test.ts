// In a controller group only the leader's loop runs passes; why a slot waits (no host can
// take it, held where it is, a failing unit) must read the same through every member. The
// leader shares it under waits/<service> when it changes; a backoff, whose reason counts
// down, is derived from the stored failures instead. A member that led once shows what is
// stored, not what its old term left behind.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { encodeWaits, overflowReason, WAITS_PREFIX, WaitShare, waitsOf } from "../../../controller/member/wait-share.js";
import { serviceOfInstance, type InstanceWait } from "../../../controller/reconcile/waits.js";
import type { UnitError } from "../../../controller/reconcile/unit-errors.js";
import type { Store } from "../../../controller/store/store.js";
import { until } from "../until.js";
import { tempStores } from "../fixtures/store.js";

const log = pino({ level: "silent" });
const NOW = 1_700_000_000_000;

/** A loop's word as its last pass left it; `pass()` tells the listeners, as a pass does. */
class FakeLoop {
  unplaced = new Map<string, string>();
  held = new Map<string, string>();
  backoff = new Set<string>();
  stuck = new Set<string>();
  errors = new Map<string, UnitError>();
  termStore: Store | undefined;
  private readonly listeners = new Set<() => void>();
  constructor(termStore?: Store) {
    this.termStore = termStore;
  }
  get leading(): boolean {
    return this.termStore !== undefined;
  }
  onPass(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }
  /** As a pass: the maps replaced (views' notifications leave them), then the listeners told. */
  pass(): void {
    this.unplaced = new Map(this.unplaced);
    this.held = new Map(this.held);
    this.backoff = new Set(this.backoff);
    this.stuck = new Set(this.stuck);
    this.errors = new Map(this.errors);
    for (const fn of this.listeners) fn();
  }
  wait(rec: { service: string; slot: number }): InstanceWait | undefined {
    const id = `${rec.service}-${rec.slot}`;
    const u = this.unplaced.get(id);
    if (u !== undefined) return { kind: "unplaced", reason: u, stuck: false };
    const h = this.held.get(id);
    return h === undefined ? undefined : { kind: this.backoff.has(id) ? "backoff" : "held", reason: h, stuck: this.stuck.has(id) };
  }
  error(service: string): UnitError | undefined {
    return this.errors.get(service);
  }
}

/** Counts the txns that reach the store. */
function counting(store: Store): { store: Store; txns: () => number } {
  let n = 0;
  const s = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== "txn") return Reflect.get(target, prop, receiver) as unknown;
      return (...args: Parameters<Store["txn"]>) => (n++, target.txn(...args));
    },
  }) as Store;
  return { store: s, txns: () => n };
}

describe("sharing why instances wait", () => {
  const stores = tempStores();
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  /** A leader and a follower on one real store, both following it. */
  async function twoMembers(): Promise<{ store: Store; leaderLoop: FakeLoop; follower: WaitShare }> {
    const { store } = await stores.open();
    const leaderLoop = new FakeLoop(store);
    const leader = new WaitShare({ store, loop: leaderLoop, onChange: () => undefined, log });
    const follower = new WaitShare({ store, loop: new FakeLoop(), onChange: () => undefined, log });
    closers.push(() => leader.close(), () => follower.close());
    await leader.follow();
    await follower.follow();
    return { store, leaderLoop, follower };
  }

  it("every member reads the leader's word; nothing is written while it stays the same; gone once nothing waits", async () => {
    const { store } = await stores.open();
    const w = counting(store);
    const leaderLoop = new FakeLoop(w.store);
    const followerLoop = new FakeLoop();
    // The follower's loop once led: what its old term left must not show.
    followerLoop.unplaced.set("my-web-1", "stale: from an earlier term");
    let changes = 0;
    const leader = new WaitShare({ store, loop: leaderLoop, onChange: () => undefined, log });
    const follower = new WaitShare({ store, loop: followerLoop, onChange: () => changes++, log });
    closers.push(() => leader.close(), () => follower.close());
    await leader.follow();
    await follower.follow();

    leaderLoop.unplaced.set("my-web-1", "no spare host: 3 are occupied");
    leaderLoop.held.set("db-0", "failover is disabled for this service: it stays on its host");
    leaderLoop.held.set("db-1", "stays on h2, which is draining, until another host can take it: no spare host: 2 are occupied");
    leaderLoop.stuck.add("db-1");
    leaderLoop.held.set("api-0", "waiting to reschedule: failed on h1 (just now) in the last 1h; next attempt in 30s (backoff 30s)");
    leaderLoop.backoff.add("api-0");
    leaderLoop.errors.set("bad", { message: "boom", sinceMs: NOW - 5_000, atMs: NOW - 1_000, attempts: 3, retryAtMs: NOW + 3_000 });
    leaderLoop.pass();

    const wait = (service: string, slot: number, extra: { hostId?: string; failures?: { hostId: string; atMs: number }[] } = {}) => follower.wait({ service, slot, hostId: extra.hostId ?? "", failures: extra.failures }, NOW);
    await until(() => wait("my-web", 1)?.kind === "unplaced", "the follower to read the unplaced slot");
    expect(wait("my-web", 1)).toEqual({ kind: "unplaced", reason: "no spare host: 3 are occupied", stuck: false });
    await until(() => wait("db", 1) !== undefined && follower.error("bad") !== undefined, "the rest");
    expect(wait("db", 0)).toEqual({ kind: "held", reason: "failover is disabled for this service: it stays on its host", stuck: false });
    expect(wait("db", 1)?.stuck).toBe(true);
    expect(follower.error("bad")).toEqual({ message: "boom", sinceMs: NOW - 5_000, atMs: NOW - 1_000, attempts: 3, retryAtMs: NOW + 3_000 });
    // A backoff is not stored (its reason counts down): derived from the record's failures.
    expect((await store.scan(WAITS_PREFIX)).map((kv) => kv.key).sort()).toEqual([`${WAITS_PREFIX}bad`, `${WAITS_PREFIX}db`, `${WAITS_PREFIX}my-web`]);
    expect(JSON.stringify((await store.scan(WAITS_PREFIX)).map((kv) => kv.value))).not.toContain("api-0");
    // A second failure within the hour waits 30 s (the first is placed again at once).
    const twice = [{ hostId: "h1", atMs: NOW - 2_000 }, { hostId: "h1", atMs: NOW - 1_000 }];
    expect(wait("api", 0, { failures: twice.slice(1) })).toBeUndefined();
    const b = wait("api", 0, { failures: twice });
    expect(b?.kind).toBe("backoff");
    expect(b?.reason).toMatch(/^waiting to reschedule: failed on h1 .*next attempt in/);
    // Placed again (it has a host): no longer waiting.
    expect(wait("api", 0, { hostId: "h2", failures: twice })).toBeUndefined();
    // The leader reads its own loop.
    expect(leader.wait({ service: "api", slot: 0, hostId: "" }, NOW)?.kind).toBe("backoff");

    // Passes that leave the same word write nothing (a write is started within the pass's listener).
    const before = w.txns();
    for (let k = 0; k < 5; k++) leaderLoop.pass();
    await new Promise<void>((r) => setImmediate(r));
    expect(w.txns()).toBe(before);

    // Nothing waits any more: every key goes, and the follower shows nothing.
    leaderLoop.unplaced.clear();
    leaderLoop.held.clear();
    leaderLoop.backoff.clear();
    leaderLoop.stuck.clear();
    leaderLoop.errors.clear();
    leaderLoop.pass();
    await until(() => wait("my-web", 1) === undefined && wait("db", 0) === undefined && follower.error("bad") === undefined, "the follower to see nothing waits");
    expect(await store.scan(WAITS_PREFIX)).toEqual([]);
    expect(changes).toBeGreaterThan(0);
  });

  it("a new leader corrects what its predecessor stored; a member that no longer leads writes nothing", async () => {
    const { store } = await stores.open();
    const w = counting(store);
    const oldLoop = new FakeLoop(w.store);
    const old = new WaitShare({ store, loop: oldLoop, onChange: () => undefined, log });
    closers.push(() => old.close());
    await old.follow();
    oldLoop.unplaced.set("web-2", "no spare host: 1 is cordoned");
    oldLoop.pass();
    let stored = 0;
    await until(() => (void store.scan(WAITS_PREFIX).then((kvs) => (stored = kvs.length)), stored === 1), "the first leader's write");

    // Deposed: its loop stops leading, its maps keep the old word.
    oldLoop.termStore = undefined;
    const newLoop = new FakeLoop(store);
    const next = new WaitShare({ store, loop: newLoop, onChange: () => undefined, log });
    closers.push(() => next.close());
    await next.follow();
    // Its first pass finds web-2 placed: the stored word goes.
    newLoop.pass();
    await until(() => old.wait({ service: "web", slot: 2, hostId: "" }, NOW) === undefined, "the old leader to show what is stored now");
    const before = w.txns();
    oldLoop.pass(); // would write its stale word back, were it still leading
    await new Promise<void>((r) => setImmediate(r));
    expect(w.txns()).toBe(before);
    expect(await store.scan(WAITS_PREFIX)).toEqual([]);
  });

  it("a value unreadable in the store counts as absent: no member shows what it said before, and the leader writes it anew", async () => {
    const { store, leaderLoop, follower } = await twoMembers();
    leaderLoop.unplaced.set("web-0", "no spare host: 2 are occupied");
    leaderLoop.pass();
    await until(() => follower.wait({ service: "web", slot: 0, hostId: "" }, NOW) !== undefined, "the follower to read it");
    await store.put(`${WAITS_PREFIX}web`, "{not json");
    await until(() => follower.wait({ service: "web", slot: 0, hostId: "" }, NOW) === undefined, "the follower to drop what it read");
    leaderLoop.pass();
    await until(() => follower.wait({ service: "web", slot: 0, hostId: "" }, NOW)?.reason === "no spare host: 2 are occupied", "the leader to write it anew");
  });

  it("groups by the service an instance id names, dashes and all", () => {
    expect(serviceOfInstance("my-web-12")).toBe("my-web");
    expect(serviceOfInstance("web-0")).toBe("web");
    expect(serviceOfInstance("web")).toBeUndefined();
    const loop = new FakeLoop();
    loop.unplaced.set("a-b-3", "x".repeat(5_000));
    loop.unplaced.set("a-b-1", "no spare host");
    loop.unplaced.set("a-b-10", "no spare host");
    const m = waitsOf(loop);
    expect([...m.keys()]).toEqual(["a-b"]);
    // Slots waiting for one reason share one entry.
    expect(m.get("a-b")!.waits.map((x) => [x.slots, x.reason.length])).toEqual([
      [[1, 10], 13],
      [[3], 1_000],
    ]);
  });

  it("with more distinct reasons than fit, a member that does not lead still shows each slot's kind, and says where its reason is", async () => {
    const { leaderLoop, follower } = await twoMembers();
    for (let k = 0; k < 10_000; k++) leaderLoop.unplaced.set(`big-${k}`, `no spare host for slot ${k}: ${"every host is occupied or avoided, ".repeat(20)}`);
    leaderLoop.pass();
    const wait = (slot: number) => follower.wait({ service: "big", slot, hostId: "" }, NOW);
    await until(() => wait(0) !== undefined, "the follower to read the record");
    expect(wait(0)).toMatchObject({ kind: "unplaced", reason: expect.stringContaining("no spare host for slot 0:") });
    expect(wait(9_999)).toEqual({ kind: "unplaced", reason: overflowReason(10_000), stuck: false });
    for (let k = 0; k < 10_000; k++) expect(wait(k)?.kind).toBe("unplaced");
  });

  it("a service with thousands of distinct reasons still fits what etcd takes in one request", () => {
    const loop = new FakeLoop();
    // 10,000 slots (a spec's most), each held on its own host with a long reason.
    for (let k = 0; k < 10_000; k++) loop.held.set(`big-${k}`, `stays on host-${k}, which is draining, until another host can take it: ${"no spare host: 9999 are occupied, ".repeat(20)}`);
    const rec = waitsOf(loop).get("big")!;
    const value = encodeWaits(rec);
    expect(value.length).toBeLessThanOrEqual(1_000_000);
    const d = JSON.parse(value) as { waits: { kind: string; reason: string; slots: number[] }[]; more: number };
    // Every slot is shared with its kind: those whose own reason did not fit, under one that says so.
    expect(d.more).toBe(0);
    expect(d.waits.flatMap((x) => x.slots).sort((a, b) => a - b)).toEqual(Array.from({ length: 10_000 }, (_, k) => k));
    const over = d.waits.filter((x) => x.reason === overflowReason(10_000));
    expect(over).toHaveLength(1);
    expect(over[0]).toMatchObject({ kind: "held" });
    expect(over[0]!.slots.length).toBeGreaterThan(0);
    expect(d.waits.length - 1 + over[0]!.slots.length).toBe(10_000);
    // Counted in bytes, as etcd counts: reasons in another script take up to 3 bytes a character.
    const wide = new FakeLoop();
    for (let k = 0; k < 10_000; k++) wide.held.set(`wide-${k}`, `${"ホスト待ち ".repeat(150)}${k}`);
    expect(Buffer.byteLength(encodeWaits(waitsOf(wide).get("wide")!))).toBeLessThanOrEqual(1_000_000);
    // One reason for them all: one entry, whatever the count.
    const same = new FakeLoop();
    for (let k = 0; k < 10_000; k++) same.unplaced.set(`many-${k}`, "no spare host: 3 are occupied");
    expect(encodeWaits(waitsOf(same).get("many")!).length).toBeLessThan(70_000);
  });
});
