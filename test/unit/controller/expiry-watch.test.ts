import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { WARNED_PREFIX, expiryPass, expiryWarnings, type WatchedCert } from "../../../controller/pki/expiry-watch.js";
import type { Store } from "../../../controller/store/store.js";
import { NotLeaderError } from "../../../controller/store/not-leader.js";
import type { EventLog } from "../../../controller/events/event-log.js";
import { tempStores } from "../fixtures/store.js";

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

describe("expiryWarnings", () => {
  const certs: WatchedCert[] = [
    { kind: "host", name: "3fa9", serial: "A1", notAfterMs: NOW + 6 * DAY },
    { kind: "host", name: "77bc", serial: "B2", notAfterMs: NOW + 20 * DAY },
    { kind: "server", name: "controller", serial: "C3", notAfterMs: NOW + 2 * DAY },
    { kind: "ca", name: "controller", serial: "D4", notAfterMs: NOW - 1 },
  ];

  it("warns about every certificate within seven days of its end, naming it, its expiry and the remedy", () => {
    const { events, serials } = expiryWarnings(certs, NOW, new Set());
    expect(events.map((e) => [e.type, e.host])).toEqual([
      ["cert.expiring", "3fa9"],
      ["cert.expiring", undefined],
      ["cert.expired", undefined],
    ]);
    expect(events[0]!.message).toBe(`the certificate of host 3fa9 expires at ${new Date(NOW + 6 * DAY).toISOString()} (within 7d): its agent renews it while connected: check that the agent runs and reaches the controller`);
    expect(events[1]!.message).toMatch(/serving certificate expires .* restart the controller/);
    expect(serials).toEqual(["host:A1:expiring", "server:C3:expiring", "ca:D4:expired"]);
  });

  it("warns once per certificate: a renewed one (new serial) is a new certificate", () => {
    const warned = new Set(["host:A1:expiring", "server:C3:expiring", "ca:D4:expired"]);
    expect(expiryWarnings(certs, NOW, warned).events).toEqual([]);
    // Warned as expiring, then left to expire: warned again, as expired.
    expect(expiryWarnings(certs, NOW + 7 * DAY, warned).events.map((e) => [e.type, e.host])).toEqual([
      ["cert.expired", "3fa9"],
      ["cert.expired", undefined],
    ]);
    const renewed = certs.map((c) => (c.serial === "A1" ? { ...c, serial: "A9", notAfterMs: NOW + 30 * DAY } : c));
    expect(expiryWarnings(renewed, NOW, warned).events).toEqual([]);
  });
});

describe("expiryPass: what was warned about is kept in the store", () => {
  const stores = tempStores();

  const open = (): Promise<{ store: Store; events: EventLog }> => stores.open({ clock: () => NOW });
  const log = pino({ level: "silent" });
  const expiring = async (events: EventLog): Promise<string[]> => (await events.list({ limit: 100 })).filter((e) => e.type.startsWith("cert.")).map((e) => `${e.type} ${e.host}`);

  it("a new leader (or a restarted controller) does not warn again about the same certificate; a renewed one is a new certificate", async () => {
    const { store, events } = await open();
    let certs: WatchedCert[] = [{ kind: "host", name: "3fa9", serial: "A1", notAfterMs: NOW + 6 * DAY }];
    const deps = { certs: () => certs, now: () => NOW, events, store, log };
    expect(await expiryPass(deps)).toBe(1);
    // A second pass of the same leader, then one of a new leader with nothing in memory.
    expect(await expiryPass(deps)).toBe(0);
    expect(await expiryPass({ ...deps, via: store })).toBe(0);
    expect(await expiring(events)).toEqual(["cert.expiring 3fa9"]);
    // Renewed, then the new one nears its end: warned about.
    certs = [{ kind: "host", name: "3fa9", serial: "A2", notAfterMs: NOW + 5 * DAY }];
    expect(await expiryPass(deps)).toBe(1);
    expect(await expiring(events)).toEqual(["cert.expiring 3fa9", "cert.expiring 3fa9"]);
    // What was kept of the replaced certificate is dropped: only A2's stays.
    expect((await store.scan(WARNED_PREFIX)).map((kv) => kv.key)).toEqual([`${WARNED_PREFIX}host:A2:expiring`]);
  });

  it("a deposed leader's pass writes neither the warning nor the mark", async () => {
    const { store, events } = await open();
    const via: Store = { ...store, get: store.get.bind(store), scan: store.scan.bind(store), watch: store.watch.bind(store), revision: store.revision.bind(store), close: store.close.bind(store), put: () => Promise.reject(new NotLeaderError("c1", "gone")), delete: () => Promise.reject(new NotLeaderError("c1", "gone")), txn: () => Promise.reject(new NotLeaderError("c1", "gone")) };
    const certs: WatchedCert[] = [{ kind: "host", name: "3fa9", serial: "A1", notAfterMs: NOW + 6 * DAY }];
    const deps = { certs: () => certs, now: () => NOW, events, store, via, log };
    await expect(expiryPass(deps)).rejects.toBeInstanceOf(NotLeaderError);
    expect(await expiring(events)).toEqual([]);
    expect(await store.scan(WARNED_PREFIX)).toEqual([]);
  });
});
