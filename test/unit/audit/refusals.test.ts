import { describe, expect, it } from "vitest";
import { describeAggregate, OTHER_SOURCES, RefusalAggregator, sourceAddress, MAX_KINDS } from "../../../controller/audit/refusals.js";
import { AuditLog } from "../../../controller/audit/audit-log.js";
import { tempStores } from "../fixtures/store.js";

describe("sourceAddress", () => {
  it("drops the port and the family prefix of a gRPC peer", () => {
    expect(sourceAddress("ipv4:10.0.0.7:51234")).toBe("10.0.0.7");
    expect(sourceAddress("10.0.0.7:51234")).toBe("10.0.0.7");
    expect(sourceAddress("ipv6:[::1]:443")).toBe("::1");
    expect(sourceAddress("[fe80::1]:1")).toBe("fe80::1");
    expect(sourceAddress("")).toBe("(unknown)");
  });
});

describe("RefusalAggregator", () => {
  it("sums one source's refusals into one aggregate, due when its window ends", () => {
    const a = new RefusalAggregator({ windowMs: 60_000, maxSources: 10 });
    for (let i = 0; i < 1000; i++) a.record("ipv4:10.0.0.7:" + (1000 + i), "unknown token", "Cordon", 1_000 + i);
    a.record("ipv4:10.0.0.8:1", "no bearer token", "Apply", 2_000);
    expect(a.due(60_999)).toEqual([]);
    const [first, ...rest] = a.due(61_000);
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ source: "10.0.0.7", count: 1000, firstMs: 1_000, lastMs: 1_999, reasons: { "unknown token": 1000 }, methods: { Cordon: 1000 } });
    expect(describeAggregate(first!)).toBe("1000 refused calls from 10.0.0.7 (unknown token) between 1970-01-01T00:00:01.000Z and 1970-01-01T00:00:01.999Z");
    expect(a.due(62_000).map((x) => x.source)).toEqual(["10.0.0.8"]);
    expect(a.size).toBe(0);
  });

  it("keeps at most maxSources (+ the overflow bucket): the least recently refused is folded in, never lost", () => {
    const a = new RefusalAggregator({ windowMs: 60_000, maxSources: 3 });
    for (let i = 0; i < 100; i++) a.record(`10.0.1.${i}:1`, "unknown token", "Cordon", i);
    a.record("10.0.1.99:2", "unknown token", "Cordon", 100); // the most recent stays itself
    expect(a.size).toBeLessThanOrEqual(4);
    const all = a.drain();
    expect(all.reduce((n, x) => n + x.count, 0)).toBe(101);
    expect(all.find((x) => x.source === "10.0.1.99")?.count).toBe(2);
    expect(all.find((x) => x.source === OTHER_SOURCES)?.count).toBeGreaterThan(90);
  });

  it("bounds the distinct reasons and methods kept per source", () => {
    const a = new RefusalAggregator({ windowMs: 60_000, maxSources: 3 });
    for (let i = 0; i < 100; i++) a.record("1.2.3.4:5", `reason ${i}`, `M${i}`, i);
    const [x] = a.drain();
    expect(Object.keys(x!.reasons).length).toBe(MAX_KINDS + 1);
    expect(x!.reasons["other"]).toBe(100 - MAX_KINDS);
    expect(Object.keys(x!.methods).length).toBe(MAX_KINDS + 1);
  });
});

describe("AuditLog with unidentified refusals", () => {
  const stores = tempStores();

  it("never lets them push out identified entries, however many", async () => {
    const { store } = await stores.open();
    let t = 1_000;
    const audit = new AuditLog(store, () => t, { maxEntries: 50, maxRefused: 5, windowMs: 10_000 });
    await audit.init();
    for (let i = 0; i < 10; i++) await audit.append({ tokenId: "op1", role: "operator", method: "Cordon", request: `{"id":"h${i}"}`, code: 0, error: "", peer: "ipv4:10.0.0.1:9" });
    // Ten windows of floods from 100 addresses each.
    for (let w = 0; w < 10; w++) {
      for (let i = 0; i < 2000; i++) await audit.append({ tokenId: "", role: "", method: "Apply", request: "{}", code: 16, error: "unknown token", peer: `ipv4:10.9.${w}.${i % 100}:${i}` });
      t += 10_000;
      await audit.flush();
    }
    const all = await audit.list({ sinceMs: 0, limit: 100_000 });
    const identified = all.filter((e) => e.tokenId !== "");
    expect(identified.map((e) => JSON.parse(e.request) as { id: string }).map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `h${i}`));
    // The refused log's own cap, enforced at its next prune (init, or every thousand appends).
    await audit.init();
    const after = await audit.list({ sinceMs: 0, limit: 100_000 });
    expect(after.filter((e) => e.tokenId === "").length).toBeLessThanOrEqual(5);
    expect(after.filter((e) => e.tokenId !== "")).toHaveLength(10);
    expect(after.find((e) => e.tokenId === "")).toMatchObject({ count: 20, code: 16 });
    await audit.close();
  });
});
