/**
 * Revoked serials (`berth host remove`) are pruned once their certificate has
 * expired — verifyClientCert refuses it then on its own — and no instance names
 * the removed host any more (the planner replaces it through `hosts()`).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Store } from "../../../controller/store/store.js";
import { NotLeaderError } from "../../../controller/store/not-leader.js";
import { REVOKED_PREFIX, RevokedSerials, prunableRevocations, revocationsOf, type RevokedCert } from "../../../controller/pki/revoked.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { tempStores } from "../fixtures/store.js";

const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;
const cert = (serial: string, notAfterMs: number, hostId = "h1"): RevokedCert => ({ serial, hostId, revokedAtMs: NOW - 10 * HOUR, notAfterMs, by: "t1" });

describe("prunableRevocations", () => {
  it("drops a serial whose certificate has expired; keeps one still valid and one whose expiry is unknown (0)", () => {
    const certs = [cert("A", NOW - 1), cert("B", NOW + HOUR), cert("C", 0), cert("D", NOW)];
    expect(prunableRevocations(certs, NOW, new Set())).toEqual(["A", "D"]);
  });

  it("keeps an expired serial while an instance still names its host: the planner replaces that one through it", () => {
    const certs = [cert("A", NOW - 1, "h1"), cert("B", NOW - 1, "h2")];
    expect(prunableRevocations(certs, NOW, new Set(["h1"]))).toEqual(["B"]);
  });
});

describe("revocationsOf", () => {
  it("revokes the current and the previous certificate, each with its own expiry", () => {
    const rec = { id: "h1", certSerial: "NEW", certNotAfterMs: NOW + 20 * HOUR, prevCertSerial: "OLD", prevCertNotAfterMs: NOW + 2 * HOUR } as HostRecord;
    expect(revocationsOf(rec, NOW, "t9")).toEqual([
      { serial: "NEW", hostId: "h1", revokedAtMs: NOW, notAfterMs: NOW + 20 * HOUR, by: "t9" },
      { serial: "OLD", hostId: "h1", revokedAtMs: NOW, notAfterMs: NOW + 2 * HOUR, by: "t9" },
    ]);
    // A record from before the previous expiry was kept: unknown, 0.
    const old = { id: "h1", certSerial: "NEW", prevCertSerial: "OLD" } as HostRecord;
    expect(revocationsOf(old, NOW, "t9").map((c) => c.notAfterMs)).toEqual([0, 0]);
  });
});

describe("RevokedSerials.prune", () => {
  const stores = tempStores();
  let revoked: RevokedSerials | undefined;
  afterEach(() => {
    revoked?.stop();
  });

  async function open(): Promise<{ store: Store; revoked: RevokedSerials }> {
    const { store } = await stores.open();
    revoked = new RevokedSerials(store);
    await revoked.start();
    return { store, revoked };
  }

  it("deletes the expired entries from the store and from what the member holds", async () => {
    const { store, revoked } = await open();
    const certs = [cert("A", NOW - 1), cert("B", NOW + HOUR)];
    await store.txn([], revoked.revokeOps(certs));
    revoked.held(certs);
    expect(await revoked.prune(NOW, new Set())).toEqual(["A"]);
    expect((await store.scan(REVOKED_PREFIX)).map((kv) => kv.key)).toEqual([`${REVOKED_PREFIX}B`]);
    expect(revoked.get("A")).toBeUndefined();
    expect(revoked.get("B")?.hostId).toBe("h1");
    expect(await revoked.prune(NOW, new Set())).toEqual([]);
  });

  it("through a deposed leader's store: refused, and nothing is dropped", async () => {
    const { store, revoked } = await open();
    const certs = [cert("A", NOW - 1)];
    await store.txn([], revoked.revokeOps(certs));
    revoked.held(certs);
    const via: Store = { ...store, get: store.get.bind(store), scan: store.scan.bind(store), watch: store.watch.bind(store), revision: store.revision.bind(store), close: store.close.bind(store), put: () => Promise.reject(new NotLeaderError("c1", "gone")), delete: () => Promise.reject(new NotLeaderError("c1", "gone")), txn: () => Promise.reject(new NotLeaderError("c1", "gone")) };
    await expect(revoked.prune(NOW, new Set(), via)).rejects.toBeInstanceOf(NotLeaderError);
    expect(revoked.get("A")).toBeDefined();
    expect((await store.scan(REVOKED_PREFIX)).length).toBe(1);
  });
});
