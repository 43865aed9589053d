/**
 * Leader election through an etcd lease, on a real etcd: one leader of two campaigners,
 * a clean resign handing over at once, a lost lease handing over and the deposed
 * leader's guarded write refused (changing nothing, shown by etcd's revision), and a
 * leader cut off from etcd stepping down within its TTL on its own clock.
 */
import { Etcd3 } from "etcd3";
import { afterEach, describe, expect, it } from "vitest";
import { Election, NotLeaderError, type Leadership } from "../../controller/store/election.js";
import { openEtcdStore } from "../../controller/store/etcd-store.js";
import type { Store } from "../../controller/store/store.js";
import { startEtcdCluster, type EtcdCluster } from "./harness/etcd.js";

const TTL_MS = 3_000;

describe("leader election on etcd", () => {
  let cluster: EtcdCluster | undefined;
  let stores: Store[] = [];
  let elections: Election[] = [];

  afterEach(async () => {
    if (cluster) for (const m of cluster.members) cluster.resume(m);
    await Promise.allSettled(elections.map((e) => e.close()));
    await Promise.allSettled(stores.map((s) => s.close()));
    await cluster?.stop();
    cluster = undefined;
    stores = [];
    elections = [];
  });

  async function member(id: string, c: EtcdCluster): Promise<{ store: Store; election: Election }> {
    const store = await openEtcdStore({ endpoints: c.endpoints, prefix: "group/" });
    const election = new Election({ store, memberId: id, ttlMs: TTL_MS });
    stores.push(store);
    elections.push(election);
    return { store, election };
  }

  it("of two campaigners exactly one leads; a clean resign hands over at once", async () => {
    cluster = await startEtcdCluster({ members: 1 });
    const a = await member("a", cluster);
    const b = await member("b", cluster);
    const leaderA = await a.election.campaign();
    let leaderB: Leadership | undefined;
    const bCampaign = b.election.campaign().then((l) => (leaderB = l));
    // b waits: a leads, and etcd says so.
    expect(await b.election.leader()).toBe("a");
    expect(leaderA.isLeader()).toBe(true);
    expect(leaderB).toBeUndefined();

    const resignedAt = Date.now();
    await leaderA.resign();
    await bCampaign;
    const handoverMs = Date.now() - resignedAt;
    expect(handoverMs).toBeLessThan(1_000);
    expect(leaderA.isLeader()).toBe(false);
    expect(await leaderA.lost).toBe("resigned");
    expect(leaderB?.isLeader()).toBe(true);
    expect(await a.election.leader()).toBe("b");
    // The resigned member's guarded write is refused before it reaches etcd.
    await expect(leaderA.store.put("x", "from a")).rejects.toBeInstanceOf(NotLeaderError);
    expect(await leaderB!.store.put("x", "from b")).toBeGreaterThan(0);
  });

  it("a leader whose lease is gone is replaced within the TTL, and its guarded write changes nothing", async () => {
    cluster = await startEtcdCluster({ members: 1 });
    const a = await member("a", cluster);
    const b = await member("b", cluster);
    const leaderA = await a.election.campaign();
    await leaderA.store.put("state", "a's");
    const bLeads = b.election.campaign();

    // What a paused or partitioned leader looks like to etcd: its lease ends. Revoked
    // here so the test does not wait a TTL for it; etcd deletes the leader key with it.
    const admin = new Etcd3({ hosts: cluster.endpoints.map((e) => `http://${e}`) });
    try {
      const lostAt = Date.now();
      await admin.leaseClient.leaseRevoke({ ID: leaderA.leaseId });
      const leaderB = await bLeads;
      expect(Date.now() - lostAt).toBeLessThan(TTL_MS);
      expect(await b.election.leader()).toBe("b");

      // The old leader has not noticed yet (its clock says the lease runs on): its
      // write goes to etcd, whose transaction refuses it on the guard.
      expect(leaderA.isLeader()).toBe(true);
      // etcd's own revision, not the store's: the election's keys move it too.
      const etcdRevision = async (): Promise<number> => Number((await admin.kv.range({ key: Buffer.from("any") })).header.revision);
      const before = await etcdRevision();
      await expect(leaderA.store.put("state", "a's stale write")).rejects.toBeInstanceOf(NotLeaderError);
      await expect(leaderA.store.txn([], [{ type: "delete", key: "state" }])).rejects.toThrow(/not the leader.*etcd refused/);
      expect(await etcdRevision()).toBe(before);
      expect((await a.store.get("state"))?.value).toBe("a's");
      // The successor writes on.
      const r = await leaderB.store.put("state", "b's");
      expect(r).toBe(before + 1);
      expect((await b.store.get("state"))?.value).toBe("b's");
      // And the old leader learns it from the keep-alive answer (TTL 0) or its clock.
      expect(await leaderA.lost).toMatch(/lease/);
    } finally {
      admin.close();
    }
  });

  it("a leader cut off from etcd (etcd paused) stops leading within the TTL, by its own clock", async () => {
    cluster = await startEtcdCluster({ members: 1 });
    const a = await member("a", cluster);
    const leaderA = await a.election.campaign();
    const pausedAt = Date.now();
    cluster.pause(cluster.members[0]!);
    const why = await leaderA.lost;
    const noticedMs = Date.now() - pausedAt;
    expect(why).toBe("no keep-alive answered within the lease TTL");
    expect(noticedMs).toBeLessThan(TTL_MS);
    expect(leaderA.isLeader()).toBe(false);
    await expect(leaderA.store.put("x", "1")).rejects.toBeInstanceOf(NotLeaderError);
  });
});
