// A controller whose disk fills: an artifact upload and a store write each fail with an error
// that says the disk is full (RESOURCE_EXHAUSTED at the API), the process goes on, nothing is
// left half-written, and writes work again once there is room. Real files on a tmpfs of 2 MiB
// (root: mount), LevelDB included.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactStore } from "../../../controller/artifacts/artifact-store.js";
import { openLevelStore } from "../../../controller/store/level-store.js";
import { toStatus } from "../../../controller/member/api/errors.js";
import { causeText, diskProblem } from "../../../controller/store/disk-error.js";

describe("diskProblem and causeText", () => {
  it("find a full disk anywhere in the cause chain, and say every link", () => {
    const io = Object.assign(new Error("IO error: /d/store/000005.ldb: No space left on device"), { code: "LEVEL_IO_ERROR" });
    const outer = Object.assign(new Error("Database failed to open", { cause: io }), { code: "LEVEL_DATABASE_NOT_OPEN" });
    expect(diskProblem(outer)).toEqual({ full: true, message: io.message });
    expect(causeText(outer)).toBe("Database failed to open: IO error: /d/store/000005.ldb: No space left on device");
    expect(diskProblem(Object.assign(new Error("EROFS: read-only file system, open 'x'"), { code: "EROFS" }))).toEqual({ full: false, message: "EROFS: read-only file system, open 'x'" });
    expect(diskProblem(new Error("something else"))).toBeUndefined();
    const cyclic: { message: string; cause?: unknown } = { message: "a" };
    cyclic.cause = cyclic;
    expect(diskProblem(cyclic)).toBeUndefined();
  });
});

describe.skipIf(process.getuid?.() !== 0)("a controller whose disk is full", () => {
  let mnt: string;
  beforeAll(async () => {
    mnt = await mkdtemp(join(tmpdir(), "berth-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
  });
  afterAll(async () => {
    execFileSync("umount", [mnt]);
    await rm(mnt, { recursive: true, force: true });
  });

  it("refuses an artifact upload saying the disk is full, keeps nothing of it, and goes on", async () => {
    const store = new ArtifactStore(join(mnt, "artifacts"));
    await store.init();
    const size = 4 * 1024 * 1024;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < size; i += 64 * 1024) yield new Uint8Array(64 * 1024).fill(7);
    }
    const err = await store.put("a".repeat(64), size, chunks()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const s = toStatus(err);
    expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(s.details).toMatch(/the controller cannot store this: its disk is full \(ENOSPC/);
    expect(await readdir(join(mnt, "artifacts", "tmp"))).toEqual([]);
  });

  it("refuses a store write saying the disk is full, and writes again once there is room", async () => {
    const dir = join(mnt, "store");
    await mkdir(dir);
    const store = await openLevelStore(dir);
    try {
      await store.put("k/0", "v");
      // Fill what is left, then write until LevelDB meets the end of the disk.
      const filler = join(mnt, "filler");
      await writeFile(filler, Buffer.alloc(8 * 1024 * 1024)).catch(() => undefined);
      let err: unknown;
      for (let i = 1; i < 200 && err === undefined; i++) await store.put(`k/${i}`, "x".repeat(64 * 1024)).catch((e: unknown) => (err = e));
      expect(err).toBeDefined();
      const s = toStatus(err);
      expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(s.details).toMatch(/its disk is full/);
      await rm(filler);
      await expect(store.put("k/after", "v")).resolves.toBeGreaterThan(0);
    } finally {
      await store.close().catch(() => undefined);
    }
  });
});
