import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import type { LevelStoreOptions } from "../../../controller/store/level-store.js";
import { openLevelStore, StoreCorruptError, StoreLockedError } from "../../../controller/store/level-store.js";
import type { Store, WatchEvent } from "../../../controller/store/store.js";
import { CompactedError } from "../../../controller/store/store.js";
import { storeContract } from "./contract.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Larger than the longest history a contract test replays (1150), small enough to hit. */
const CONTRACT_HISTORY_LIMIT = 1500;

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "berth-store-"));
}

storeContract("level", async () => {
  const dir = await tempDir();
  const opened: Store[] = [];
  const openOne = async (): Promise<Store> => {
    const s = await openLevelStore(dir, { historyLimit: CONTRACT_HISTORY_LIMIT });
    opened.push(s);
    return s;
  };
  const cleanup = async (): Promise<void> => {
    const closed = await Promise.allSettled(opened.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
    for (const c of closed) if (c.status === "rejected") throw c.reason;
  };
  try {
    return { store: await openOne(), reopen: openOne, historyLimit: CONTRACT_HISTORY_LIMIT, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
});

describe("level store", () => {
  // Stores and dirs a test opened; afterEach closes and removes them even if it failed.
  let stores: Store[] = [];
  let dirs: string[] = [];

  afterEach(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    stores = [];
    dirs = [];
  });

  async function newDir(): Promise<string> {
    const d = await tempDir();
    dirs.push(d);
    return d;
  }

  async function open(dir: string, opts?: LevelStoreOptions): Promise<Store> {
    const s = await openLevelStore(dir, opts);
    stores.push(s);
    return s;
  }

  it("a new store starts at revision 0", async () => {
    const s = await open(await newDir());
    expect(await s.revision()).toBe(0);
    expect(await s.scan("")).toEqual([]);
  });

  describe("lock", () => {
    it("a second open in the same process fails, naming the dir; after close it opens", async () => {
      const dir = await newDir();
      const first = await open(dir);
      const second = openLevelStore(dir);
      await expect(second).rejects.toBeInstanceOf(StoreLockedError);
      await expect(second).rejects.toThrow(dir);
      await first.close();
      const third = await open(dir);
      expect(await third.revision()).toBe(0);
    });

    it("of two concurrent opens of one dir, exactly one succeeds", async () => {
      const dir = await newDir();
      const results = await Promise.allSettled([openLevelStore(dir), openLevelStore(dir)]);
      for (const r of results) if (r.status === "fulfilled") stores.push(r.value);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const failure = results.find((r) => r.status === "rejected");
      expect(failure?.reason).toBeInstanceOf(StoreLockedError);
    });

    it("another process cannot open a dir this process holds", async () => {
      const dir = await newDir();
      const held = await open(dir);
      const refused = await runToEnd("try-open.ts", [dir]);
      expect(refused.stdout).toContain(`error StoreLockedError state store ${dir} is already open in another process`);
      await held.close();
      const allowed = await runToEnd("try-open.ts", [dir]);
      expect(allowed.stdout.trim()).toBe("opened");
    });
  });

  it(
    "every write acknowledged before a SIGKILL is there after reopening",
    async () => {
      const dir = await newDir();
      // Several rounds, so the kill lands at different points of a write.
      for (let round = 0; round < 3; round++) {
        const acked = await writeUntilKilled(dir, 40);
        expect(acked.length).toBeGreaterThanOrEqual(40);
        const s = await open(dir);
        const rev = await s.revision();
        const maxAcked = Math.max(...acked);
        // Everything acknowledged is there; at most the one write in flight is extra.
        expect(rev).toBeGreaterThanOrEqual(maxAcked);
        expect(rev).toBeLessThanOrEqual(maxAcked + 1);
        for (const r of acked) {
          expect(await s.get(`crash/${r - 1}`)).toEqual({
            key: `crash/${r - 1}`,
            value: `value-${r - 1}`,
            createRevision: r,
            modRevision: r,
          });
        }
        // Data and counter were written together: exactly one key per revision.
        expect(await s.scan("crash/")).toHaveLength(rev);
        await s.close();
      }
    },
    60_000,
  );

  it("user keys cannot touch internal ones, whatever they look like", async () => {
    const dir = await newDir();
    const s = await open(dir);
    const tricky = ["m/revision", "m/compacted", "m/format", "l/0000000000000001", "d/x", "~", ""];
    for (const k of tricky) await s.put(k, "junk");
    expect(await s.revision()).toBe(tricky.length);
    expect((await s.scan("")).map((kv) => kv.key).sort()).toEqual([...tricky].sort());
    expect((await s.scan("m/")).map((kv) => kv.key)).toEqual(["m/compacted", "m/format", "m/revision"]);
    await s.close();
    const again = await open(dir);
    expect(await again.revision()).toBe(tricky.length);
    const events: WatchEvent[] = [];
    await again.watch("", (ev) => events.push(ev), { fromRevision: 1 });
    expect(events.map((ev) => ev.revision)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("keeps historyLimit revisions of history, also across reopens with another limit", async () => {
    const dir = await newDir();
    const s = await open(dir, { historyLimit: 10 });
    for (let i = 1; i <= 15; i++) await s.put(`k/${i % 4}`, `${i}`);
    await expect(s.watch("", () => {}, { fromRevision: 5 })).rejects.toMatchObject({ requested: 5, oldest: 6 });
    await expectReplay(s, 6, 15);
    await s.close();

    // A smaller limit drops the surplus at open.
    const smaller = await open(dir, { historyLimit: 3 });
    const refused = smaller.watch("", () => {}, { fromRevision: 12 });
    await expect(refused).rejects.toBeInstanceOf(CompactedError);
    await expect(refused).rejects.toMatchObject({ oldest: 13 });
    await expectReplay(smaller, 13, 15);
    await smaller.close();

    // A larger one cannot bring dropped history back, but keeps more from now on.
    const larger = await open(dir, { historyLimit: 100 });
    await expect(larger.watch("", () => {}, { fromRevision: 12 })).rejects.toBeInstanceOf(CompactedError);
    for (let i = 16; i <= 30; i++) await larger.put(`k/${i % 4}`, `${i}`);
    await expectReplay(larger, 13, 30);
  });

  it("the default history is 10000 revisions", async () => {
    // No fsync: 10001 writes are only here to pass the default limit by one.
    const s = await open(await newDir(), { sync: false });
    for (let i = 0; i < 10_001; i++) await s.put("k", `${i}`);
    await expect(s.watch("", () => {}, { fromRevision: 1 })).rejects.toMatchObject({ requested: 1, oldest: 2 });
    await expectReplay(s, 2, 10_001);
  });

  it("sync: false still stores and reopens", async () => {
    const dir = await newDir();
    const s = await open(dir, { sync: false });
    await s.put("a", "1");
    await s.close();
    const again = await open(dir, { sync: false });
    expect(await again.get("a")).toMatchObject({ value: "1", modRevision: 1 });
  });

  it("hands what a watch callback throws to onWatchError", async () => {
    const errors: unknown[] = [];
    const s = await open(await newDir(), { onWatchError: (err) => errors.push(err) });
    await s.watch("", () => {
      throw new Error("watcher bug");
    });
    expect(await s.put("a", "1")).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(Error);
  });

  it("delivers live events before the write that caused them resolves", async () => {
    const s = await open(await newDir());
    const events: WatchEvent[] = [];
    await s.watch("", (ev) => events.push(ev));
    await s.put("a", "1");
    expect(events).toHaveLength(1);
  });

  it("refuses a dir that holds some other LevelDB", async () => {
    const dir = await newDir();
    const other = new Level<string, string>(dir);
    await other.put("foreign", "data");
    await other.close();
    await expect(openLevelStore(dir)).rejects.toBeInstanceOf(StoreCorruptError);
    // The failed open released the dir.
    await expect(openLevelStore(dir)).rejects.toBeInstanceOf(StoreCorruptError);
  });

  it("refuses a bad historyLimit or scan limit", async () => {
    const dir = await newDir();
    await expect(openLevelStore(dir, { historyLimit: 0 })).rejects.toBeInstanceOf(RangeError);
    const s = await open(dir);
    await expect(s.scan("", { limit: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(s.watch("", () => {}, { fromRevision: -1 })).rejects.toBeInstanceOf(RangeError);
  });
});

async function expectReplay(s: Store, from: number, to: number): Promise<void> {
  const events: WatchEvent[] = [];
  const w = await s.watch("", (ev) => events.push(ev), { fromRevision: from });
  w.close();
  expect(events.map((ev) => ev.revision)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

function startFixture(script: string, args: string[]): ReturnType<typeof spawn> {
  // tsx, because the fixtures import the TypeScript sources directly.
  return spawn(process.execPath, ["--import", "tsx", join(FIXTURES, script), ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs a fixture to its end and returns what it printed. */
async function runToEnd(script: string, args: string[], timeoutMs = 15_000): Promise<{ stdout: string; stderr: string }> {
  const child = startFixture(script, args);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(deadline);
      if (code === 0) resolve();
      else reject(new Error(`${script} exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { stdout, stderr };
}

/**
 * Starts the crash writer, SIGKILLs it once it has acknowledged at least minAcks
 * writes, and returns the revisions of every write it acknowledged, including lines
 * still in the pipe when it died.
 */
async function writeUntilKilled(dir: string, minAcks: number, timeoutMs = 15_000): Promise<number[]> {
  const child = startFixture("crash-writer.ts", [dir, "1000000000"]);
  const acked: number[] = [];
  let pending = "";
  let stderr = "";
  let killed = false;
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  child.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const lines = pending.split("\n");
    // The last piece is an incomplete line (or ""): keep it for the next chunk.
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^ok (\d+)$/.exec(line);
      if (m?.[1] !== undefined) acked.push(Number(m[1]));
    }
    if (!killed && acked.length >= minAcks) {
      killed = true;
      child.kill("SIGKILL");
    }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`crash writer acknowledged only ${acked.length} writes in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    // "close" comes after stdout has been drained, so acked is complete.
    child.once("close", (_code, sig) => {
      clearTimeout(deadline);
      resolve(sig);
    });
  });
  if (!killed) throw new Error(`crash writer ended before it was killed; stderr: ${stderr}`);
  expect(signal).toBe("SIGKILL");
  return acked;
}
