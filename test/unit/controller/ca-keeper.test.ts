// Two members on one store: each holds the CA record as the store has it, so a
// rotation started through one and finished by the other is followed by both.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../../controller/store/store.js";
import { CaKeeper, CaRecordUnreadableError } from "../../../controller/pki/ca-keeper.js";
import { CA_KEY, RotationInProgressError } from "../../../controller/pki/ca-record.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { createLogger } from "../../../shared/log/logger.js";
import { caFingerprint } from "../../../shared/tls/pki.js";
import { until } from "../until.js";
import { tempStores } from "../fixtures/store.js";

const log = createLogger("test", "silent");
const stores = tempStores();
let store: Store;
const keepers: CaKeeper[] = [];

beforeEach(async () => {
  ({ store } = await stores.open());
});
afterEach(() => {
  for (const k of keepers.splice(0)) k.close();
});

async function member(): Promise<CaKeeper> {
  const k = await CaKeeper.load(store, log);
  await k.follow();
  keepers.push(k);
  return k;
}

const host = (id: string, certCa?: string): HostRecord => ({ id, labels: {}, advertiseAddr: "", facts: null, health: "ready", healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "01", certCa });

describe("CaKeeper", () => {
  it("the first member creates the CA, the second takes it; both follow a rotation and its end, whoever writes them", async () => {
    const a = await member();
    const b = await member();
    expect(b.record.certPem).toBe(a.record.certPem);
    const changes: string[] = [];
    b.onChange((_p, n) => changes.push(n.rotation ? "rotating" : "idle"));

    await a.rotate({ nowMs: 1000, by: "tok", spreadMs: 5000 });
    await until(() => b.record.rotation !== undefined, "member b to see the rotation");
    expect(b.trusted()).toEqual(a.trusted());
    expect(b.signer.certPem).toBe(a.record.rotation!.next.certPem);
    expect(b.renewWithinMs()).toBe(5000);
    // Through either member, a second rotation is refused.
    await expect(b.rotate({ nowMs: 2000, by: "tok", spreadMs: 1 })).rejects.toThrow(RotationInProgressError);

    const newFp = caFingerprint(a.record.rotation!.next.certPem);
    // A host still on the old CA: nothing retired.
    expect(await b.retireIfDone([host("h1", newFp), host("h2")], 3000)).toBe(false);
    expect(await b.retireIfDone([host("h1", newFp), host("h2", newFp)], 3000)).toBe(true);
    await until(() => a.record.rotation === undefined, "member a to see the old CA retired");
    expect(a.servingFingerprint()).toBe(newFp);
    expect(a.trusted()).toHaveLength(1);
    expect(a.record.retired?.atMs).toBe(3000);
    expect(changes).toEqual(["rotating", "idle"]);
  });

  it("starts and follows on a store whose history no longer holds the CA record's own revision (a long-lived controller restarted)", async () => {
    const { store: small } = await stores.open({ historyLimit: 20 });
    const first = await CaKeeper.load(small, log);
    first.close();
    // Ordinary writes (events, joins, applies) push the record's revision out of the kept history.
    for (let i = 0; i < 100; i++) await small.put(`x/${i % 5}`, String(i));
    const again = await CaKeeper.load(small, log);
    keepers.push(again);
    await again.follow();
    expect(again.record.certPem).toBe(first.record.certPem);
    // And it still follows what is written after it started.
    await small.put(CA_KEY, JSON.stringify({ certPem: first.record.certPem, keyPem: first.record.keyPem, retired: { certPem: first.record.certPem, atMs: 7 } }));
    await until(() => again.record.retired !== undefined, "the record written after the restart");
  });

  it("keeps the last good record when another writer stores a bad one, and refuses to start on one", async () => {
    const a = await member();
    const seen: unknown[] = [];
    a.onChange((_p, n) => seen.push(n.retired?.atMs));
    await store.put(CA_KEY, JSON.stringify({ certPem: "x" }));
    expect(a.record.keyPem).not.toBe("");
    await expect(CaKeeper.load(store, log)).rejects.toThrow(CaRecordUnreadableError);
    // A good record after it: the watch delivers in order, so the bad one was seen first and not taken.
    await store.put(CA_KEY, JSON.stringify({ certPem: a.record.certPem, keyPem: a.record.keyPem, retired: { certPem: a.record.certPem, atMs: 5 } }));
    await until(() => a.record.retired !== undefined, "the good record");
    expect(seen).toEqual([5]);
  });
});
