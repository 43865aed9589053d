import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLevelStore } from "../../../controller/store/level-store.js";
import type { Store } from "../../../controller/store/store.js";
import { SeqLog } from "../../../controller/store/seq-log.js";

type E = { seq: number; timeMs: number; what: string };

describe("SeqLog", () => {
  let dir = "";
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("numbers entries, continues after a reopen, keeps the newest past its cap, and lists newest-bounded", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-seqlog-"));
    store = await openLevelStore(dir);
    let t = 1000;
    const a = new SeqLog<E>(store, "log/", 3, () => t++);
    await a.init();
    for (const w of ["a", "b", "c", "d", "e"]) await a.append({ what: w });
    // A seq taken for a txn that never ran leaves a gap, which is fine.
    a.op({ what: "lost" });
    const b = new SeqLog<E>(store, "log/", 3, () => t++);
    await b.init(); // prunes to the newest 3
    expect((await b.list({ limit: 10 })).map((e) => [e.seq, e.what])).toEqual([[3, "c"], [4, "d"], [5, "e"]]);
    const f = await b.append({ what: "f" });
    expect(f.seq).toBe(6);
    expect((await b.list({ limit: 10, stop: (e) => e.timeMs < 1004 })).map((e) => e.what)).toEqual(["e", "f"]);
    expect((await b.list({ limit: 10, match: (e) => e.what !== "d" })).map((e) => e.what)).toEqual(["c", "e", "f"]);
  });
});
