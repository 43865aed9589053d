import { describe, expect, it } from "vitest";
import { SeqLog } from "../../../controller/store/seq-log.js";
import { tempStores } from "../fixtures/store.js";

type E = { seq: number; timeMs: number; what: string };

describe("SeqLog", () => {
  const stores = tempStores();

  it("numbers entries, continues after a reopen, keeps the newest past its cap, and lists newest-bounded", async () => {
    const { store } = await stores.open();
    let t = 1000;
    const a = new SeqLog<E>(store, "log/", 3, () => t++);
    await a.init();
    for (const w of ["a", "b", "c", "d", "e"]) await a.append({ what: w });
    const b = new SeqLog<E>(store, "log/", 3, () => t++);
    await b.init(); // prunes to the newest 3
    expect((await b.list({ limit: 10 })).map((e) => [e.seq, e.what])).toEqual([[3, "c"], [4, "d"], [5, "e"]]);
    const f = await b.append({ what: "f" });
    expect(f.seq).toBe(6);
    expect((await b.list({ limit: 10, stop: (e) => e.timeMs < 1004 })).map((e) => e.what)).toEqual(["e", "f"]);
    expect((await b.list({ limit: 10, match: (e) => e.what !== "d" })).map((e) => e.what)).toEqual(["c", "e", "f"]);
  });

  it("two members appending to one store never take the same seq, and seqs grow in commit order", async () => {
    const { store } = await stores.open();
    const a = new SeqLog<E>(store, "log/", 1000, () => 1);
    const b = new SeqLog<E>(store, "log/", 1000, () => 1);
    await a.init();
    await b.init();
    // Interleaved, and concurrent within a member: each member knows only its own appends.
    const written: E[] = [];
    for (let i = 0; i < 5; i++) {
      written.push(...(await Promise.all([a.append({ what: `a${i}` }), b.append({ what: `b${i}` }), a.append({ what: `a${i}'` })])));
    }
    // An entry in a txn with the caller's own ops, beside another member's append.
    const k = await store.revision();
    const [mine] = await Promise.all([a.txn([], [{ type: "put", key: "x", value: "1" }], [{ what: "with-x" }]), b.append({ what: "b-last" })]);
    expect(mine.res.succeeded).toBe(true);
    expect((await store.get("x"))?.modRevision).toBeGreaterThan(k);
    const listed = await a.list({ limit: 100 });
    expect(listed).toHaveLength(17);
    expect(new Set(listed.map((e) => e.seq)).size).toBe(17);
    expect(new Set(written.map((e) => e.seq)).size).toBe(15);
    // Key order (seq order) is commit order: each entry's key was written at a later revision than the one before.
    const kvs = await store.scan("log/");
    const revs = kvs.map((kv) => kv.modRevision);
    expect(revs).toEqual([...revs].sort((x, y) => x - y));
  });

  it("a txn whose own compare fails writes nothing and is not retried", async () => {
    const { store } = await stores.open();
    const a = new SeqLog<E>(store, "log/", 1000, () => 1);
    await a.init();
    await store.put("x", "0");
    const out = await a.txn([{ key: "x", modRevision: 0 }], [{ type: "put", key: "x", value: "1" }], [{ what: "never" }]);
    expect(out.res.succeeded).toBe(false);
    expect(out.res.failed).toEqual(["x"]);
    expect(await a.list({ limit: 10 })).toEqual([]);
    expect((await a.append({ what: "next" })).seq).toBe(1);
  });
});
