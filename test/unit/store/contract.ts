/**
 * The behaviour every Store backend must have, as a reusable vitest suite: the level
 * store runs it today, an etcd backend will run it unchanged. So nothing here may depend
 * on how a backend works inside: revisions are compared to the revision a test starts
 * at (a fresh etcd starts at 1, not 0), and events are awaited by polling, since a
 * remote backend delivers them asynchronously.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Compare, KeyValue, Op, Store, WatchEvent } from "../../../controller/store/store.js";
import { CompactedError, StoreClosedError } from "../../../controller/store/store.js";
import { until as untilBase } from "../until.js";

export interface StoreUnderTest {
  /** A store with no keys that nothing but the test writes to. */
  store: Store;
  /**
   * Opens the same data again. The suite closes `store` (and any store an earlier
   * reopen returned) before calling it. Without it the persistence tests are skipped.
   */
  reopen?: () => Promise<Store>;
  /**
   * The number of revisions of history the backend keeps, if it drops older ones by
   * itself. Without it the compaction test is skipped.
   */
  historyLimit?: number;
  /** Closes whatever is still open and removes the data; runs even when a test failed. */
  cleanup: () => Promise<void>;
}

/** How long to wait for something a backend does asynchronously (watch delivery). */
const WAIT_MS = 5_000;

/** Polls until cond() holds (test/unit/until.ts), sooner and shorter: watch delivery is fast. */
export const until = (cond: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> => untilBase(cond, what, timeoutMs, 2);

/** etcd and LevelDB both order keys by their UTF-8 bytes, not by JS string order. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function collector(): { events: WatchEvent[]; onEvent: (ev: WatchEvent) => void } {
  const events: WatchEvent[] = [];
  return { events, onEvent: (ev) => events.push(ev) };
}

function keyOf(ev: WatchEvent): string {
  return ev.type === "put" ? ev.kv.key : ev.key;
}

/** Events as short strings, for readable diffs: "put a=1 @5", "delete a @6". */
function show(events: WatchEvent[]): string[] {
  return events.map((ev) => (ev.type === "put" ? `put ${ev.kv.key}=${ev.kv.value} @${ev.revision}` : `delete ${ev.key} @${ev.revision}`));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export function storeContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: Store;
    /** The store's revision when the test started: every expectation is relative to it. */
    let r0: number;

    beforeEach(async () => {
      sut = await open();
      store = sut.store;
      r0 = await store.revision();
    });

    afterEach(async () => {
      await sut.cleanup();
    });

    describe("get, put, delete", () => {
      it("get of a missing key is undefined", async () => {
        expect(await store.get("nope")).toBeUndefined();
      });

      it("put creates a key under a new revision, one more than the last", async () => {
        const r1 = await store.put("a", "1");
        expect(r1).toBe(r0 + 1);
        expect(await store.revision()).toBe(r1);
        expect(await store.get("a")).toEqual({ key: "a", value: "1", createRevision: r1, modRevision: r1 });
      });

      it("every write bumps the revision by exactly one", async () => {
        expect(await store.put("a", "1")).toBe(r0 + 1);
        expect(await store.put("b", "1")).toBe(r0 + 2);
        expect(await store.put("a", "2")).toBe(r0 + 3);
        expect(await store.delete("b")).toBe(r0 + 4);
        expect(await store.revision()).toBe(r0 + 4);
      });

      it("overwriting keeps createRevision and moves modRevision", async () => {
        const r1 = await store.put("a", "1");
        await store.put("other", "x");
        const r3 = await store.put("a", "2");
        expect(await store.get("a")).toEqual({ key: "a", value: "2", createRevision: r1, modRevision: r3 });
        expect(await store.get("other")).toMatchObject({ createRevision: r1 + 1, modRevision: r1 + 1 });
      });

      it("putting the same value again is still a write", async () => {
        const r1 = await store.put("a", "same");
        const r2 = await store.put("a", "same");
        expect(r2).toBe(r1 + 1);
        expect(await store.get("a")).toEqual({ key: "a", value: "same", createRevision: r1, modRevision: r2 });
      });

      it("delete removes the key under a new revision", async () => {
        await store.put("a", "1");
        const r2 = await store.delete("a");
        expect(r2).toBe(r0 + 2);
        expect(await store.get("a")).toBeUndefined();
        expect(await store.revision()).toBe(r2);
      });

      it("deleting a missing key changes nothing and returns the current revision", async () => {
        await store.put("a", "1");
        expect(await store.delete("b")).toBe(r0 + 1);
        expect(await store.revision()).toBe(r0 + 1);
        expect(await store.get("a")).toMatchObject({ value: "1" });
      });

      it("a key created again after a delete gets a new createRevision", async () => {
        await store.put("a", "1");
        await store.delete("a");
        const r3 = await store.put("a", "2");
        expect(await store.get("a")).toEqual({ key: "a", value: "2", createRevision: r3, modRevision: r3 });
      });

      it("keeps keys and values exactly: empty value, unicode, slashes, JSON-looking text", async () => {
        const pairs: [string, string][] = [
          ["k/ü/😀", ""],
          ["k/json", '{"v":"not me","c":1}'],
          ["k/nl", "line\nbreak\u0000nul"],
          ["k//double", "x".repeat(10_000)],
        ];
        for (const [k, v] of pairs) await store.put(k, v);
        for (const [k, v] of pairs) expect((await store.get(k))?.value).toBe(v);
      });
    });

    describe("txn", () => {
      it("when every compare holds, applies all ops under one new revision", async () => {
        const ra = await store.put("a", "1");
        await store.put("d", "doomed");
        const res = await store.txn(
          [
            { key: "a", modRevision: ra },
            { key: "b", modRevision: 0 },
          ],
          [
            { type: "put", key: "a", value: "2" },
            { type: "put", key: "b", value: "1" },
            { type: "delete", key: "d" },
          ],
        );
        const r = r0 + 3;
        expect(res).toEqual({ succeeded: true, revision: r, failed: [] });
        expect(await store.revision()).toBe(r);
        expect(await store.get("a")).toEqual({ key: "a", value: "2", createRevision: ra, modRevision: r });
        expect(await store.get("b")).toEqual({ key: "b", value: "1", createRevision: r, modRevision: r });
        expect(await store.get("d")).toBeUndefined();
      });

      it("a failed compare applies nothing and bumps nothing", async () => {
        const ra = await store.put("a", "1");
        const res = await store.txn(
          [
            { key: "a", modRevision: ra + 100 },
            { key: "b", modRevision: 0 },
          ],
          [
            { type: "put", key: "x", value: "1" },
            { type: "delete", key: "a" },
          ],
        );
        expect(res).toEqual({ succeeded: false, revision: ra, failed: ["a"] });
        expect(await store.revision()).toBe(ra);
        expect(await store.get("x")).toBeUndefined();
        expect(await store.get("a")).toEqual({ key: "a", value: "1", createRevision: ra, modRevision: ra });
      });

      it("reports every key whose compare failed", async () => {
        const ra = await store.put("a", "1");
        const res = await store.txn(
          [
            { key: "a", modRevision: 0 },
            { key: "ok", modRevision: 0 },
            { key: "missing", modRevision: ra },
          ],
          [{ type: "put", key: "x", value: "1" }],
        );
        expect(res.succeeded).toBe(false);
        expect([...res.failed].sort()).toEqual(["a", "missing"]);
      });

      it("modRevision 0 means the key must not exist", async () => {
        const first = await store.txn([{ key: "lock", modRevision: 0 }], [{ type: "put", key: "lock", value: "me" }]);
        expect(first).toEqual({ succeeded: true, revision: r0 + 1, failed: [] });
        const second = await store.txn([{ key: "lock", modRevision: 0 }], [{ type: "put", key: "lock", value: "you" }]);
        expect(second).toEqual({ succeeded: false, revision: r0 + 1, failed: ["lock"] });
        expect((await store.get("lock"))?.value).toBe("me");
        await store.delete("lock");
        const third = await store.txn([{ key: "lock", modRevision: 0 }], [{ type: "put", key: "lock", value: "you" }]);
        expect(third.succeeded).toBe(true);
      });

      it("a compare against the key's modRevision holds after writes to other keys", async () => {
        const ra = await store.put("a", "1");
        await store.put("b", "1");
        const res = await store.txn([{ key: "a", modRevision: ra }], [{ type: "put", key: "a", value: "2" }]);
        expect(res.succeeded).toBe(true);
      });

      it("a txn without compares always applies", async () => {
        const res = await store.txn([], [{ type: "put", key: "a", value: "1" }]);
        expect(res).toEqual({ succeeded: true, revision: r0 + 1, failed: [] });
      });

      it("a txn that changes nothing makes no revision (as in etcd)", async () => {
        await store.put("a", "1");
        expect(await store.txn([], [])).toEqual({ succeeded: true, revision: r0 + 1, failed: [] });
        expect(await store.txn([{ key: "a", modRevision: r0 + 1 }], [{ type: "delete", key: "missing" }])).toEqual({
          succeeded: true,
          revision: r0 + 1,
          failed: [],
        });
        expect(await store.revision()).toBe(r0 + 1);
      });

      it("a txn naming one key in two ops is refused and applies nothing", async () => {
        await expect(
          store.txn(
            [],
            [
              { type: "put", key: "a", value: "1" },
              { type: "delete", key: "a" },
            ],
          ),
        ).rejects.toThrow();
        expect(await store.revision()).toBe(r0);
        expect(await store.get("a")).toBeUndefined();
      });

      it("of concurrent create-if-absent txns on one key, exactly one wins", async () => {
        const results = await Promise.all(
          range(1, 20).map((i) => store.txn([{ key: "leader", modRevision: 0 }], [{ type: "put", key: "leader", value: `c${i}` }])),
        );
        const winners = results.flatMap((r, i) => (r.succeeded ? [i + 1] : []));
        expect(winners).toHaveLength(1);
        expect((await store.get("leader"))?.value).toBe(`c${winners[0]}`);
        for (const r of results) if (!r.succeeded) expect(r.failed).toEqual(["leader"]);
        expect(await store.revision()).toBe(r0 + 1);
      });

      it("concurrent compare-and-set increments lose no update", async () => {
        await store.put("counter", "0");
        // 50 racers, each trying a few times: read, then write n+1 only if nobody wrote since.
        const attempt = async (): Promise<number> => {
          let wins = 0;
          for (let i = 0; i < 3; i++) {
            const kv = await store.get("counter");
            const n = Number(kv?.value);
            const res = await store.txn(
              [{ key: "counter", modRevision: kv?.modRevision ?? 0 }],
              [{ type: "put", key: "counter", value: String(n + 1) }],
            );
            if (res.succeeded) wins++;
          }
          return wins;
        };
        const wins = (await Promise.all(range(1, 50).map(attempt))).reduce((a, b) => a + b, 0);
        expect(wins).toBeGreaterThan(0);
        expect((await store.get("counter"))?.value).toBe(String(wins));
        // Only the winners wrote.
        expect(await store.revision()).toBe(r0 + 1 + wins);
      });
    });

    describe("scan", () => {
      const keys = ["a", "hos", "host", "host/a", "host/b", "host/b/sub", "host/c", "hosts/x", "hostz"];

      beforeEach(async () => {
        // Written out of order, so ordering cannot come from insertion.
        for (const k of [...keys].reverse()) await store.put(k, `v-${k}`);
      });

      it("returns every key under the prefix, in key order, with its revisions", async () => {
        const got = await store.scan("host/");
        expect(got.map((kv) => kv.key)).toEqual(["host/a", "host/b", "host/b/sub", "host/c"]);
        for (const kv of got) expect(kv).toEqual(await store.get(kv.key));
      });

      it('does not leak a sibling prefix ("host/" vs "hosts/")', async () => {
        expect((await store.scan("hosts/")).map((kv) => kv.key)).toEqual(["hosts/x"]);
        expect((await store.scan("host/")).map((kv) => kv.key)).not.toContain("hosts/x");
        expect((await store.scan("host")).map((kv) => kv.key)).toEqual([
          "host",
          "host/a",
          "host/b",
          "host/b/sub",
          "host/c",
          "hosts/x",
          "hostz",
        ]);
      });

      it("the empty prefix returns exactly the keys written, nothing internal", async () => {
        expect((await store.scan("")).map((kv) => kv.key)).toEqual([...keys].sort(byteOrder));
      });

      it("an unknown prefix returns nothing", async () => {
        expect(await store.scan("nothing/")).toEqual([]);
        expect(await store.scan("host/b/sub/")).toEqual([]);
      });

      it("limit keeps the first keys", async () => {
        expect((await store.scan("host/", { limit: 2 })).map((kv) => kv.key)).toEqual(["host/a", "host/b"]);
        expect((await store.scan("host/", { limit: 100 })).map((kv) => kv.key)).toHaveLength(4);
      });

      it("reverse returns descending key order, and with limit the last keys", async () => {
        expect((await store.scan("host/", { reverse: true })).map((kv) => kv.key)).toEqual(["host/c", "host/b/sub", "host/b", "host/a"]);
        expect((await store.scan("host/", { reverse: true, limit: 2 })).map((kv) => kv.key)).toEqual(["host/c", "host/b/sub"]);
      });

      it("orders keys by UTF-8 bytes", async () => {
        // JS string order puts the astral "😀" (surrogate 0xD83D) before U+FFFD; bytes
        // (F0 9F… vs EF BF BD) do the opposite. Both etcd and LevelDB use bytes.
        const u = ["u/z", "u/é", "u/\uFFFD", "u/😀", "u/A"];
        for (const k of u) await store.put(k, "x");
        expect((await store.scan("u/")).map((kv) => kv.key)).toEqual(["u/A", "u/z", "u/é", "u/\uFFFD", "u/😀"]);
      });

      it("does not see deleted keys", async () => {
        await store.delete("host/b");
        expect((await store.scan("host/")).map((kv) => kv.key)).toEqual(["host/a", "host/b/sub", "host/c"]);
      });
    });

    describe("watch", () => {
      it("delivers changes made after it starts, in revision order", async () => {
        await store.put("app/before", "x");
        const c = collector();
        const w = await store.watch("app/", c.onEvent);
        const r1 = await store.put("app/a", "1");
        const r2 = await store.put("app/a", "2");
        const r3 = await store.delete("app/a");
        const r4 = (
          await store.txn(
            [],
            [
              { type: "put", key: "app/b", value: "1" },
              { type: "delete", key: "app/before" },
            ],
          )
        ).revision;
        await until(() => c.events.length >= 5, "5 events");
        expect(c.events).toEqual([
          { type: "put", kv: { key: "app/a", value: "1", createRevision: r1, modRevision: r1 }, revision: r1 },
          { type: "put", kv: { key: "app/a", value: "2", createRevision: r1, modRevision: r2 }, revision: r2 },
          { type: "delete", key: "app/a", revision: r3 },
          { type: "put", kv: { key: "app/b", value: "1", createRevision: r4, modRevision: r4 }, revision: r4 },
          { type: "delete", key: "app/before", revision: r4 },
        ]);
        w.close();
      });

      it("delivers only keys under its prefix", async () => {
        const host = collector();
        const all = collector();
        await store.watch("host/", host.onEvent);
        await store.watch("", all.onEvent);
        await store.put("hosts/x", "1");
        await store.put("host", "1");
        await store.put("host/a", "1");
        await store.txn(
          [],
          [
            { type: "put", key: "hostz", value: "1" },
            { type: "put", key: "host/b", value: "1" },
          ],
        );
        await until(() => all.events.length >= 5, "5 events on the unfiltered watch");
        await until(() => host.events.length >= 2, "2 events on host/");
        expect(host.events.map(keyOf)).toEqual(["host/a", "host/b"]);
        expect(all.events.map(keyOf)).toEqual(["hosts/x", "host", "host/a", "hostz", "host/b"]);
      });

      it("close stops delivery", async () => {
        const closed = collector();
        const open_ = collector();
        const w = await store.watch("k/", closed.onEvent);
        await store.watch("k/", open_.onEvent);
        await store.put("k/1", "1");
        await until(() => closed.events.length === 1 && open_.events.length === 1, "first event on both");
        w.close();
        await store.put("k/2", "2");
        await store.put("k/3", "3");
        // The other watcher having seen k/3 means k/2 and k/3 were dispatched.
        await until(() => open_.events.length === 3, "events after close on the open watcher");
        expect(show(closed.events)).toEqual([`put k/1=1 @${r0 + 1}`]);
      });

      it("a watcher may close itself from its callback", async () => {
        const seen: WatchEvent[] = [];
        const w = await store.watch("k/", (ev) => {
          seen.push(ev);
          w.close();
        });
        await store.txn(
          [],
          [
            { type: "put", key: "k/1", value: "1" },
            { type: "put", key: "k/2", value: "2" },
          ],
        );
        await store.put("k/3", "3");
        const other = collector();
        await store.watch("k/", other.onEvent);
        await store.put("k/4", "4");
        await until(() => other.events.length === 1, "sentinel event");
        expect(show(seen)).toEqual([`put k/1=1 @${r0 + 1}`]);
      });

      it("a throwing callback breaks neither the store nor other watchers", async () => {
        let thrown = 0;
        await store.watch("", () => {
          thrown++;
          throw new Error("watcher bug");
        });
        const good = collector();
        await store.watch("", good.onEvent);
        expect(await store.put("a", "1")).toBe(r0 + 1);
        expect(await store.put("b", "1")).toBe(r0 + 2);
        expect(await store.delete("a")).toBe(r0 + 3);
        await until(() => good.events.length === 3, "3 events on the good watcher");
        expect(thrown).toBeGreaterThanOrEqual(1);
        expect(await store.get("b")).toMatchObject({ value: "1" });
      });

      it("from a past revision: replays history, then follows live", async () => {
        const r1 = await store.put("app/a", "1");
        const r2 = await store.put("app/b", "1");
        await store.put("other", "1");
        const r4 = await store.delete("app/a");
        const c = collector();
        await store.watch("app/", c.onEvent, { fromRevision: r2 });
        const r5 = await store.put("app/c", "1");
        await until(() => c.events.length >= 3, "3 events");
        expect(c.events).toEqual([
          { type: "put", kv: { key: "app/b", value: "1", createRevision: r2, modRevision: r2 }, revision: r2 },
          { type: "delete", key: "app/a", revision: r4 },
          { type: "put", kv: { key: "app/c", value: "1", createRevision: r5, modRevision: r5 }, revision: r5 },
        ]);
        expect(r1).toBe(r0 + 1);
      });

      it("from a past revision while writes go on: no gap, no duplicate", async () => {
        // A long history, so the replay takes a while and writes land during it.
        const HISTORY = 1000;
        for (let i = 0; i < HISTORY; i++) await store.put(`w/${i % 7}`, `before-${i}`);
        const events: WatchEvent[] = [];
        const writes: Promise<number>[] = [];
        const onEvent = (ev: WatchEvent): void => {
          events.push(ev);
          // Writing from the callback while history is replayed is the sure way to have
          // writes race the replay, whatever the backend's timing.
          if (ev.revision <= r0 + HISTORY && ev.revision % 20 === 0) writes.push(store.put(`w/cb/${ev.revision}`, "x"));
        };
        const writer = (async () => {
          for (let i = 0; i < 100; i++) await store.put(`w/${i % 5}`, `during-${i}`);
        })();
        const w = await store.watch("w/", onEvent, { fromRevision: r0 + 1 });
        await writer;
        await Promise.all(writes);
        const last = await store.revision();
        expect(writes).toHaveLength(HISTORY / 20);
        expect(last).toBe(r0 + HISTORY + 100 + HISTORY / 20);
        await until(() => (events.at(-1)?.revision ?? 0) >= last, "the last revision");
        expect(events.map((ev) => ev.revision)).toEqual(range(r0 + 1, last));
        w.close();
      });

      it("many watchers started from various revisions while writes go on: each sees every revision once", async () => {
        const HISTORY = 200;
        const LIVE = 200;
        for (let i = 0; i < HISTORY; i++) await store.put(`m/${i % 3}`, `${i}`);
        let writing = true;
        const writer = (async () => {
          for (let i = 0; i < LIVE; i++) await store.put(`m/${i % 4}`, `live-${i}`);
          writing = false;
        })();
        // Start watches at many points of the writer's progress, so some start while a
        // write is being committed: it must then come once, from history or live.
        const watches: { from: number; events: WatchEvent[]; ready: Promise<unknown> }[] = [];
        for (let k = 0; writing && k < 40; k++) {
          const from = r0 + 1 + ((k * 37) % (HISTORY + LIVE / 2));
          const c = collector();
          watches.push({ from, events: c.events, ready: store.watch("m/", c.onEvent, { fromRevision: from }) });
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await Promise.all([writer, ...watches.map((w) => w.ready)]);
        const last = r0 + HISTORY + LIVE;
        expect(await store.revision()).toBe(last);
        expect(watches.length).toBeGreaterThan(1);
        for (const { from, events } of watches) {
          await until(() => (events.at(-1)?.revision ?? 0) >= last, `the last revision from ${from}`);
          expect(events.map((ev) => ev.revision)).toEqual(range(from, last));
        }
      });

      it("from a future revision delivers nothing before it", async () => {
        const c = collector();
        await store.watch("", c.onEvent, { fromRevision: r0 + 3 });
        for (let i = 1; i <= 5; i++) await store.put(`k${i}`, "x");
        await until(() => c.events.length >= 3, "3 events");
        expect(c.events.map((ev) => ev.revision)).toEqual([r0 + 3, r0 + 4, r0 + 5]);
      });

      it("history is filtered by prefix too, and a txn's events keep their shared revision", async () => {
        await store.put("a/1", "1");
        const rt = (
          await store.txn(
            [],
            [
              { type: "put", key: "b/1", value: "1" },
              { type: "put", key: "a/2", value: "2" },
              { type: "put", key: "a/3", value: "3" },
            ],
          )
        ).revision;
        const c = collector();
        await store.watch("a/", c.onEvent, { fromRevision: r0 + 1 });
        await until(() => c.events.length >= 3, "3 events");
        expect(show(c.events)).toEqual([`put a/1=1 @${r0 + 1}`, `put a/2=2 @${rt}`, `put a/3=3 @${rt}`]);
      });

      it("a compacted revision is refused with CompactedError", async (t) => {
        const limit = sut.historyLimit;
        if (limit === undefined) return t.skip();
        for (let i = 0; i < limit + 5; i++) await store.put(`c/${i % 3}`, `${i}`);
        const last = await store.revision();
        const oldest = last - limit + 1;
        const refused = store.watch("", () => {}, { fromRevision: oldest - 1 });
        await expect(refused).rejects.toBeInstanceOf(CompactedError);
        await expect(refused).rejects.toMatchObject({ requested: oldest - 1, oldest });
        const c = collector();
        await store.watch("", c.onEvent, { fromRevision: oldest });
        await until(() => c.events.length >= limit, `${limit} events`);
        expect(c.events.map((ev) => ev.revision)).toEqual(range(oldest, last));
      });
    });

    describe("close", () => {
      it("after close every call rejects with StoreClosedError, and close again is fine", async () => {
        await store.put("a", "1");
        await store.close();
        const calls: [string, () => Promise<unknown>][] = [
          ["get", () => store.get("a")],
          ["put", () => store.put("a", "2")],
          ["delete", () => store.delete("a")],
          ["txn", () => store.txn([], [{ type: "put", key: "a", value: "2" }])],
          ["scan", () => store.scan("")],
          ["watch", () => store.watch("", () => {})],
          ["watch from", () => store.watch("", () => {}, { fromRevision: r0 + 1 })],
          ["revision", () => store.revision()],
        ];
        for (const [what, call] of calls) {
          await expect(call(), what).rejects.toBeInstanceOf(StoreClosedError);
        }
        await store.close();
      });

      it("writes started before close are completed, not lost", async () => {
        const writes = range(1, 10).map((i) => store.put(`k/${i}`, `${i}`));
        const closing = store.close();
        expect(await Promise.all(writes)).toEqual(range(r0 + 1, r0 + 10));
        await closing;
        if (sut.reopen === undefined) return;
        const again = await sut.reopen();
        expect((await again.scan("k/")).map((kv) => kv.value).sort()).toEqual(range(1, 10).map(String).sort());
      });
    });

    describe("persistence", () => {
      it("data, revisions and the counter survive close and reopen; writes continue from there", async (t) => {
        const reopen = sut.reopen;
        if (reopen === undefined) return t.skip();
        const ra = await store.put("a", "1");
        await store.put("b", "1");
        await store.put("a", "2");
        await store.delete("b");
        await store.txn([{ key: "c", modRevision: 0 }], [{ type: "put", key: "c", value: "1" }]);
        const before = await store.scan("");
        const rev = await store.revision();
        expect(rev).toBe(r0 + 5);
        await store.close();

        const again = await reopen();
        expect(await again.revision()).toBe(rev);
        expect(await again.scan("")).toEqual(before);
        expect(await again.get("b")).toBeUndefined();
        expect(await again.put("a", "3")).toBe(rev + 1);
        expect(await again.get("a")).toEqual({ key: "a", value: "3", createRevision: ra, modRevision: rev + 1 });
        const failed = await again.txn([{ key: "c", modRevision: 0 }], [{ type: "put", key: "c", value: "2" }]);
        expect(failed).toEqual({ succeeded: false, revision: rev + 1, failed: ["c"] });
      });

      it("history survives reopen: a watch from an old revision replays it", async (t) => {
        const reopen = sut.reopen;
        if (reopen === undefined) return t.skip();
        const live = collector();
        await store.watch("", live.onEvent);
        await store.put("a", "1");
        await store.txn(
          [],
          [
            { type: "put", key: "b", value: "1" },
            { type: "put", key: "c", value: "1" },
          ],
        );
        await store.delete("a");
        await until(() => live.events.length === 4, "4 live events");
        await store.close();

        const again = await reopen();
        const replayed = collector();
        await again.watch("", replayed.onEvent, { fromRevision: r0 + 1 });
        await again.put("d", "1");
        await until(() => replayed.events.length === 5, "4 replayed events and 1 live");
        expect(replayed.events.slice(0, 4)).toEqual(live.events);
        expect(show(replayed.events.slice(4))).toEqual([`put d=1 @${r0 + 4}`]);
      });
    });

    describe("property: random writes match an in-memory model", () => {
      it("values, revisions, scans and watch events agree", async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), async (steps) => {
            // Each run gets its own store: the model starts from an empty one.
            const own = await open();
            try {
              await checkAgainstModel(own.store, steps);
            } finally {
              await own.cleanup();
            }
          }),
          { numRuns: 40 },
        );
      });
    });
  });
}

// ---- the model ----------------------------------------------------------------------

/** Few keys, sharing prefixes, so steps collide and prefixes are tested. */
const KEYS = ["a", "a/1", "a/2", "ab", "b", "b/a"] as const;
const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.constantFrom("", "x", "y", "long value with spaces", "ü");

/** How a txn compare is chosen, relative to the model's state when the step runs. */
type CompareKind = "current" | "absent" | "stale";

type Step =
  | { type: "put"; key: string; value: string }
  | { type: "delete"; key: string }
  | { type: "txn"; compares: { key: string; kind: CompareKind }[]; ops: Op[] };

const opInTxnArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), key: keyArb, value: valueArb }),
  fc.record({ type: fc.constant("delete" as const), key: keyArb }),
);

const opArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant("put" as const), key: keyArb, value: valueArb }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("delete" as const), key: keyArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant("txn" as const),
      compares: fc.array(fc.record({ key: keyArb, kind: fc.constantFrom<CompareKind>("current", "current", "absent", "stale") }), {
        maxLength: 3,
      }),
      // Distinct keys: a txn naming a key twice is refused (tested above).
      ops: fc.uniqueArray(opInTxnArb, { selector: (op) => op.key, maxLength: 4 }),
    }),
  },
);

class Model {
  readonly kvs = new Map<string, KeyValue>();
  readonly events: WatchEvent[] = [];
  constructor(public revision: number) {}

  modRevision(key: string): number {
    return this.kvs.get(key)?.modRevision ?? 0;
  }

  /** Applies the changes under one new revision, if any; returns the store revision. */
  private commit(ops: Op[]): number {
    const changes = ops.filter((op) => op.type === "put" || this.kvs.has(op.key));
    if (changes.length === 0) return this.revision;
    const rev = ++this.revision;
    for (const op of changes) {
      if (op.type === "put") {
        const kv = { key: op.key, value: op.value, createRevision: this.kvs.get(op.key)?.createRevision ?? rev, modRevision: rev };
        this.kvs.set(op.key, kv);
        this.events.push({ type: "put", kv: { ...kv }, revision: rev });
      } else {
        this.kvs.delete(op.key);
        this.events.push({ type: "delete", key: op.key, revision: rev });
      }
    }
    return rev;
  }

  put(key: string, value: string): number {
    return this.commit([{ type: "put", key, value }]);
  }

  delete(key: string): number {
    return this.commit([{ type: "delete", key }]);
  }

  txn(compares: Compare[], ops: Op[]): { succeeded: boolean; revision: number; failed: string[] } {
    const failed = [...new Set(compares.filter((c) => this.modRevision(c.key) !== c.modRevision).map((c) => c.key))];
    if (failed.length > 0) return { succeeded: false, revision: this.revision, failed };
    return { succeeded: true, revision: this.commit(ops), failed: [] };
  }

  scan(prefix: string): KeyValue[] {
    return [...this.kvs.values()].filter((kv) => kv.key.startsWith(prefix)).sort((x, y) => byteOrder(x.key, y.key));
  }
}

async function checkAgainstModel(store: Store, steps: Step[]): Promise<void> {
  const start = await store.revision();
  const model = new Model(start);
  const live = collector();
  const liveA = collector();
  await store.watch("", live.onEvent);
  await store.watch("a", liveA.onEvent);

  for (const step of steps) {
    switch (step.type) {
      case "put":
        expect(await store.put(step.key, step.value)).toBe(model.put(step.key, step.value));
        break;
      case "delete":
        expect(await store.delete(step.key)).toBe(model.delete(step.key));
        break;
      case "txn": {
        const compares = step.compares.map(({ key, kind }): Compare => {
          const current = model.modRevision(key);
          switch (kind) {
            case "current":
              return { key, modRevision: current };
            case "absent":
              return { key, modRevision: 0 };
            case "stale":
              return { key, modRevision: current + 1 };
            default:
              return assertNever(kind);
          }
        });
        const got = await store.txn(compares, step.ops);
        const want = model.txn(compares, step.ops);
        expect({ ...got, failed: [...got.failed].sort() }).toEqual({ ...want, failed: [...want.failed].sort() });
        break;
      }
      default:
        assertNever(step);
    }
    expect(await store.revision()).toBe(model.revision);
    for (const key of KEYS) expect(await store.get(key)).toEqual(model.kvs.get(key));
  }

  for (const prefix of ["", "a", "a/", "b"]) expect(await store.scan(prefix)).toEqual(model.scan(prefix));
  await until(() => live.events.length >= model.events.length, "every live event");
  expect(live.events).toEqual(model.events);
  const modelA = model.events.filter((ev) => keyOf(ev).startsWith("a"));
  await until(() => liveA.events.length >= modelA.length, "every live event under a");
  expect(liveA.events).toEqual(modelA);

  if (model.revision > start) {
    const replayed = collector();
    await store.watch("", replayed.onEvent, { fromRevision: start + 1 });
    await until(() => replayed.events.length >= model.events.length, "every replayed event");
    expect(replayed.events).toEqual(model.events);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
