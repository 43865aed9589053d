/**
 * The Store contract (test/unit/store/contract.ts, unchanged) against EtcdStore on a real
 * 3-member etcd cluster, plus what only a distributed backend has: compaction, key
 * prefixes sharing one etcd, and member loss (writes continue, watches resume exactly).
 */
import { randomUUID } from "node:crypto";
import { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_CALL_TIMEOUT_MS, EtcdUnavailableError, openEtcdStore, type EtcdStore, type EtcdStoreOptions } from "../../controller/store/etcd-store.js";
import type { Store, WatchEvent } from "../../controller/store/store.js";
import { CompactedError } from "../../controller/store/store.js";
import { storeContract, until } from "../unit/store/contract.js";
import { startEtcdCluster, type EtcdCluster } from "./harness/etcd.js";

let cluster: EtcdCluster | undefined;

beforeAll(async () => {
  cluster = await startEtcdCluster({ members: 3 });
});

afterAll(async () => {
  await cluster?.stop();
});

function etcd(): EtcdCluster {
  if (!cluster) throw new Error("etcd cluster did not start");
  return cluster;
}

/** A store on a prefix of its own: the contract's "a store with no keys". */
async function openFresh(extra: Partial<EtcdStoreOptions> = {}): Promise<{ store: Store; prefix: string; open: () => Promise<Store> }> {
  const prefix = `t-${randomUUID()}/`;
  const open = (): Promise<Store> => openEtcdStore({ endpoints: etcd().endpoints, prefix, ...extra });
  return { store: await open(), prefix, open };
}

storeContract("etcd (3 members)", async () => {
  const { store, open } = await openFresh();
  const opened: Store[] = [store];
  return {
    store,
    reopen: async () => {
      const s = await open();
      opened.push(s);
      return s;
    },
    cleanup: async () => {
      await Promise.allSettled(opened.map((s) => s.close()));
    },
  };
});

describe("etcd store", () => {
  let stores: Store[] = [];
  afterEach(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    stores = [];
  });

  async function fresh(extra: Partial<EtcdStoreOptions> = {}): Promise<Store> {
    const { store } = await openFresh(extra);
    stores.push(store);
    return store;
  }

  it("two prefixes on one etcd see only their own keys and events", async () => {
    const a = await fresh();
    const b = await fresh();
    const seen: WatchEvent[] = [];
    await b.watch("", (ev) => seen.push(ev));
    await a.put("k", "from a");
    const rb = await b.put("k", "from b");
    expect((await a.get("k"))?.value).toBe("from a");
    expect((await b.scan("")).map((kv) => kv.value)).toEqual(["from b"]);
    await until(() => seen.length >= 1, "b's event");
    expect(seen.map((ev) => ev.revision)).toEqual([rb]);
    // Revisions are etcd's: b's write came after a's, so its revision is larger.
    expect(await b.revision()).toBe(rb);
  });

  it("on a shared etcd a history watch still completes, though other writers leave gaps", async () => {
    const a = await fresh();
    const b = await fresh();
    const r1 = await a.put("x", "1");
    for (let i = 0; i < 5; i++) await b.put(`y${i}`, "other fleet");
    const r2 = await a.put("x", "2");
    expect(r2).toBe(r1 + 6);
    const seen: WatchEvent[] = [];
    // Resolves only once a's history is delivered, even though etcd's newest revision
    // is b's: a's own `rev` key says where a's history ends.
    await b.put("z", "newest");
    await a.watch("", (ev) => seen.push(ev), { fromRevision: r1 });
    expect(seen.map((ev) => ev.revision)).toEqual([r1, r2]);
    expect(await a.revision()).toBe(r2);
  });

  it("a watch from a compacted revision fails with CompactedError naming the oldest kept", async () => {
    const s = await fresh();
    const r1 = await s.put("c", "1");
    await s.put("c", "2");
    const r3 = await s.put("c", "3");
    const admin = new Etcd3({ hosts: etcd().endpoints.map((e) => `http://${e}`) });
    try {
      await admin.kv.compact({ revision: r3, physical: true });
    } finally {
      admin.close();
    }
    const refused = s.watch("", () => {}, { fromRevision: r1 });
    await expect(refused).rejects.toBeInstanceOf(CompactedError);
    await expect(refused).rejects.toMatchObject({ requested: r1, oldest: r3 });
    const seen: WatchEvent[] = [];
    await s.watch("", (ev) => seen.push(ev), { fromRevision: r3 });
    expect(seen.map((ev) => ev.revision)).toEqual([r3]);
  });

  it("a put's attempt that reaches etcd late (a cut link healed) changes nothing once its key was written since; puts still win over other writers", async () => {
    const { store, prefix } = await openFresh();
    stores.push(store);
    const s = store as EtcdStore;
    const kv = s.client.kv;
    const sent = vi.spyOn(kv, "txn");
    await s.put("report", "old");
    // The request that wrote "old", as a member behind a cut link holds it until the link heals.
    const late = sent.mock.calls.at(-1)![0];
    await s.put("report", "new");
    // A key put twice, then deleted (a member's report at its clean stop): a late copy of the second put must not bring it back.
    await s.put("gone", "first");
    await s.put("gone", "second");
    const lateAfterDelete = sent.mock.calls.at(-1)![0];
    await s.delete("gone");
    sent.mockRestore();
    // Delivered now: etcd must not apply them.
    const res = await kv.txn(late);
    expect(res.succeeded).toBe(false);
    expect((await s.get("report"))?.value).toBe("new");
    expect((await kv.txn(lateAfterDelete)).succeeded).toBe(false);
    expect(await s.get("gone")).toBeUndefined();
    // Another writer of the same key (a host's observed state written by the member it moved to):
    // the next put still goes through, at the revision its failed compare showed.
    const other = await openEtcdStore({ endpoints: etcd().endpoints, prefix });
    stores.push(other);
    await other.put("report", "from another member");
    const r = await s.put("report", "newest");
    const kvNow = await s.get("report");
    expect(kvNow?.value).toBe("newest");
    expect(kvNow?.modRevision).toBe(r);
    // A key another writer changed after the newest revision this store had seen: put all the same.
    await other.put("fresh", "theirs");
    await s.put("fresh", "ours");
    expect((await other.get("fresh"))?.value).toBe("ours");
  });

  it("an unreachable etcd is refused at open, naming the endpoints", async () => {
    const started = Date.now();
    const refused = openEtcdStore({ endpoints: ["127.0.0.1:1", "127.0.0.1:2"], callTimeoutMs: 1_000 });
    await expect(refused).rejects.toBeInstanceOf(EtcdUnavailableError);
    await expect(refused).rejects.toThrow(/etcd at 127\.0\.0\.1:1,127\.0\.0\.1:2 did not answer/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

/**
 * Member loss. Its own cluster, since it kills members: the one above stays whole for
 * the contract.
 */
describe("etcd store: member loss", () => {
  let own: EtcdCluster | undefined;
  let stores: Store[] = [];

  afterEach(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    stores = [];
    await own?.stop();
    own = undefined;
  });

  it("after SIGKILL of the etcd leader, the first write succeeds within the election time and a watch sees every event exactly once", async () => {
    own = await startEtcdCluster({ members: 3 });
    const store = await openEtcdStore({ endpoints: own.endpoints, prefix: "loss/" });
    stores.push(store);
    const seen: WatchEvent[] = [];
    const history: WatchEvent[] = [];
    await store.watch("k/", (ev) => seen.push(ev));
    const first = await store.put("k/0", "before");

    const leader = await own.leader();
    await own.kill(leader);
    const started = Date.now();
    const afterLoss = await store.put("k/1", "first after the loss");
    const firstWriteMs = Date.now() - started;
    console.log(`first write after SIGKILL of the etcd leader ${leader.name}: ${firstWriteMs} ms`);
    // The followers wait out their randomized election timeout (1–2 s at etcd's default
    // 1000 ms) before electing; then one more short attempt (500 ms at most) lands.
    // Measured 1.4–1.9 s here, 2.3 s at load 20, 3.5 s once at load ~25. The contract is
    // the store's own retry budget: the write lands within it (etcd3's defaults took 7 s).
    expect(firstWriteMs).toBeLessThan(DEFAULT_CALL_TIMEOUT_MS);

    const revs = [first, afterLoss];
    for (let i = 2; i < 30; i++) revs.push(await store.put(`k/${i}`, `v${i}`));
    await until(() => seen.length >= revs.length, "every event after the member loss", 10_000);
    expect(seen.map((ev) => ev.revision)).toEqual(revs);
    expect(seen.map((ev) => (ev.type === "put" ? ev.kv.key : ev.key))).toEqual(revs.map((_, i) => `k/${i}`));

    // History from before the loss replays the same, once each.
    await store.watch("k/", (ev) => history.push(ev), { fromRevision: first });
    expect(history.map((ev) => ev.revision)).toEqual(revs);
  });

  it("a watch whose member dies resumes, once it is back, from the last revision it delivered", async () => {
    own = await startEtcdCluster({ members: 3 });
    // The watching store talks to one member only, so its stream surely breaks.
    const victim = own.members[0]!;
    const watching = await openEtcdStore({ endpoints: [victim.endpoint], prefix: "resume/" });
    const writing = await openEtcdStore({ endpoints: [own.members[1]!.endpoint, own.members[2]!.endpoint], prefix: "resume/" });
    stores.push(watching, writing);
    const seen: WatchEvent[] = [];
    await watching.watch("", (ev) => seen.push(ev));
    const revs: number[] = [];
    for (let i = 0; i < 20; i++) revs.push(await writing.put(`k/${i % 10}`, `${i}`));
    await until(() => seen.length >= 20, "events before the kill");
    await own.kill(victim);
    // Written while the watching member is down: the watch must get them after.
    for (let i = 20; i < 60; i++) revs.push(await writing.put(`k/${i % 10}`, `${i}`));
    await own.restart(victim);
    for (let i = 60; i < 80; i++) revs.push(await writing.put(`k/${i % 10}`, `${i}`));
    await until(() => (seen.at(-1)?.revision ?? 0) >= revs.at(-1)!, "the last event after the resume", 20_000);
    expect(seen.map((ev) => ev.revision)).toEqual(revs);
  });

  it("a watch on a member that stalls without an error (SIGSTOP, as a cut link) moves to another within seconds, and delivers every event once", async () => {
    own = await startEtcdCluster({ members: 3 });
    const watching = await openEtcdStore({ endpoints: own.endpoints, prefix: "stall/" });
    // The writer keeps the default 5 s a write: before the client left out a member silent
    // while the others answer, one attempt in three landed on the stopped one, and a full CI
    // run once saw 4 of 6 attempts of one write spend their 500 ms there while the others
    // elected a leader.
    const writing = await openEtcdStore({ endpoints: own.endpoints, prefix: "stall/" });
    stores.push(watching, writing);
    const seen: WatchEvent[] = [];
    await watching.watch("", (ev) => seen.push(ev));
    const revs: number[] = [];
    const lags: string[] = [];
    // Each member in turn, so the stream surely sits on a stopped one once. gRPC's keep-alive
    // alone would notice after 13 s; the progress requests (watch-stall.ts) within ~2.5 s.
    for (const m of own.members) {
      own.pause(m);
      try {
        revs.push(await writing.put(`k/${m.name}`, "while stopped"));
        const acked = Date.now();
        await until(() => (seen.at(-1)?.revision ?? 0) >= revs.at(-1)!, `the write made while ${m.name} is stopped`, 6_000);
        lags.push(`${m.name} stopped: ${Date.now() - acked} ms`);
      } finally {
        own.resume(m);
      }
    }
    console.log(`watch delivery after a write, one etcd member stopped: ${lags.join("; ")}`);
    // Each acknowledged write, once, in order. A put whose attempt went to the stopped member
    // and was retried may have been applied twice (see etcd-store.ts): that revision is seen too.
    const got = seen.map((ev) => ev.revision);
    expect(got).toEqual([...new Set(got)].sort((a, b) => a - b));
    expect(got).toEqual(expect.arrayContaining(revs));
  });

  it("a member that stops answering while the others answer is left out of the client's calls, not tried one call in three", async () => {
    own = await startEtcdCluster({ members: 3 });
    const store = (await openEtcdStore({ endpoints: own.endpoints, prefix: "silent/" })) as EtcdStore;
    stores.push(store);
    // A follower, so that no election muddles it: the other two serve all along.
    const health = await store.endpointHealth();
    const follower = own.members.find((m) => health.some((h) => h.endpoint === m.endpoint && h.healthy && !h.isLeader));
    if (!follower) throw new Error(`no healthy follower: ${JSON.stringify(health)}`);
    const countsOf = (m: { endpoint: string }) => [...store.endpointPolicies!.snapshot()].find(([host]) => host.endsWith(`//${m.endpoint}`))?.[1];
    // Connected to it first (reads until one went there): a connection that never completed
    // its handshake is "unreachable", a case of its own; this one is about silence on a
    // working connection.
    for (const deadline = Date.now() + 10_000; (countsOf(follower)?.answers ?? 0) === 0; ) {
      if (Date.now() > deadline) throw new Error("no read went to the follower in 10 s");
      await store.get("k/0");
    }
    own.pause(follower);
    const writes = 60;
    let elapsedMs: number;
    try {
      const start = Date.now();
      // One write at a time, as a quiet controller makes them: nothing else is in flight while
      // an attempt waits on the stopped member.
      for (let i = 0; i < writes; i++) await store.put(`k/${i % 5}`, String(i));
      elapsedMs = Date.now() - start;
    } finally {
      own.resume(follower);
    }
    const counts = countsOf(follower)!;
    // Left out 500 ms after its first silent attempt, then tried by one call after 0.5, 1, 2, 4 s
    // (each try costing its 500 ms): within the time these writes took, at most this many tries.
    let tries = 1;
    for (let t = 0, skip = 500; t + skip + 500 <= elapsedMs; t += skip + 500, skip = Math.min(skip * 2, 4_000)) tries++;
    const failed = counts.silent + counts.unreachable;
    console.log(`${writes} writes one at a time with a follower stopped: ${elapsedMs} ms; attempts that waited on it ${failed} (${counts.silent} silent), left out ${counts.leftOut} times (at most ${tries} allowed; one in three of ${writes} before)`);
    // Silent (its connection up) or unreachable (a connection gRPC had opened anew, whose
    // handshake a stopped process never answers): left out either way, which is the point.
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(failed).toBeLessThanOrEqual(tries);
    expect(counts.leftOut).toBe(failed);
  });
});
