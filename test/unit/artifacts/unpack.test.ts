import { lstat, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkArtifact, UnpackError, unpackArtifact } from "../../../shared/artifact/unpack.js";
import { gnuSparseTgz, maxLoopGapMs, rawTgz, zeroBomb, type RawEntry, type SparseFormat } from "./tar-fixtures.js";

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-unpack-test-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
/** Longest the agent's loop may stall: far below the controller's heartbeat timeout. */
const MAX_GAP_MS = 200;

async function dest(name = "dest"): Promise<string> {
  const d = join(work, name);
  await mkdir(d);
  return d;
}

async function write(name: string, bytes: Buffer): Promise<string> {
  const f = join(work, name);
  await writeFile(f, bytes);
  return f;
}

const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("unpackArtifact keeps the event loop responsive", () => {
  it("unpacks 128 MiB without a gap of 200 ms in the event loop", async () => {
    const tgz = await write("big.tgz", zeroBomb(128));
    const out = await dest();
    const { gapMs, error } = await maxLoopGapMs(() => unpackArtifact(tgz, out, { limits: { maxBytes: 1024 * MiB, maxEntries: 10 } }));
    expect(error).toBeUndefined();
    expect((await stat(join(out, "zeros"))).size).toBe(128 * MiB);
    expect(gapMs).toBeLessThan(MAX_GAP_MS);
  });

  it("refuses a small archive that expands to 512 MiB, at once, without stalling the loop", async () => {
    const bomb = zeroBomb(512);
    expect(bomb.length).toBeLessThan(1 * MiB);
    const tgz = await write("bomb.tgz", bomb);
    const out = await dest();
    const { gapMs, error } = await maxLoopGapMs(() => unpackArtifact(tgz, out));
    expect(error).toBeInstanceOf(UnpackError);
    expect(error).toMatchObject({ code: "ARTIFACT_REFUSED", entry: "zeros" });
    expect((error as Error).message).toMatch(/entry "zeros" \(536870912 bytes\) makes the artifact larger than 268435456 bytes unpacked/);
    expect(gapMs).toBeLessThan(MAX_GAP_MS);
    expect(await readdir(out)).toEqual([]);
  });

  it("stops at the end of the archive: 1 GiB of zeros after it is never inflated", async () => {
    const tgz = await write("trailing.tgz", zeroBomb(1, 1024));
    const out = await dest();
    const { gapMs, error } = await maxLoopGapMs(() => unpackArtifact(tgz, out));
    expect(error).toBeUndefined();
    expect((await stat(join(out, "zeros"))).size).toBe(MiB);
    expect(gapMs).toBeLessThan(MAX_GAP_MS);
  });

  it("refuses an archive whose headers alone inflate past the limit", async () => {
    const tgz = await write("headers.tgz", rawTgz(Array.from({ length: 40 }, (_, i) => ({ path: `empty-${i}` }))));
    const err = await failure(unpackArtifact(tgz, await dest(), { limits: { maxBytes: 4096, maxEntries: 1000 } }));
    expect(err).toMatchObject({ name: "UnpackError", code: "ARTIFACT_REFUSED", entry: "" });
    expect((err as Error).message).toMatch(/expands to more than 4096 bytes/);
  });

  it("refuses an archive compressed twice (node-tar would inflate the inner one on the loop)", async () => {
    const { gzipSync } = await import("node:zlib");
    const tgz = await write("twice.tgz", gzipSync(rawTgz([{ path: "a", body: "x" }])));
    const err = await failure(unpackArtifact(tgz, await dest()));
    expect(err).toMatchObject({ name: "UnpackError", code: "ARTIFACT_REFUSED" });
    expect((err as Error).message).toMatch(/compressed twice/);
  });
});

describe("unpackArtifact of a damaged archive", () => {
  it("reports a truncated download as such", async () => {
    const whole = rawTgz(Array.from({ length: 50 }, (_, i) => ({ path: `f${i}`, body: Buffer.alloc(8192, i) })));
    const tgz = await write("cut.tgz", whole.subarray(0, Math.floor(whole.length / 2)));
    const err = await failure(unpackArtifact(tgz, await dest()));
    expect(err).toBeInstanceOf(UnpackError);
    expect((err as Error).message).toMatch(/^cut\.tgz: .*(unexpected end of file|Truncated input)/);
  });
});

describe("unpackArtifact modes", () => {
  it("strips setuid, setgid and sticky bits and keeps the rest of the mode", async () => {
    const tgz = await write(
      "suid.tgz",
      rawTgz([
        { path: "shared", type: "Directory", mode: 0o3775 },
        { path: "shared/suid", body: "#!/bin/sh\n", mode: 0o4755 },
        { path: "sgid", body: "#!/bin/sh\n", mode: 0o2711 },
      ]),
    );
    const out = await dest();
    await unpackArtifact(tgz, out);
    const mode = async (p: string): Promise<number> => (await lstat(join(out, p))).mode & 0o7777;
    expect(await mode("shared/suid")).toBe(0o755);
    expect(await mode("sgid")).toBe(0o711);
    expect((await mode("shared")) & 0o7000).toBe(0);
  });
});

describe("unpackArtifact refuses what it cannot unpack faithfully, naming the entry", () => {
  const sparse: [SparseFormat, string][] = [
    ["gnu", "data.img"],
    ["posix-0.0", "data.img"],
    ["posix-0.1", "GNUSparseFile"],
    ["posix-1.0", "GNUSparseFile"],
  ];
  for (const [format, entry] of sparse) {
    it(`refuses a sparse file (GNU tar --sparse, ${format})`, async () => {
      const tgz = await gnuSparseTgz(work, format);
      const out = await dest();
      const err = await failure(unpackArtifact(tgz, out));
      expect(err).toBeInstanceOf(UnpackError);
      expect(err).toMatchObject({ code: "ARTIFACT_REFUSED", entry: expect.stringContaining(entry) as unknown });
      expect((err as Error).message).toMatch(/is a sparse file.*cannot be unpacked faithfully/);
      expect((err as Error).message).toContain("data.img");
      expect(await readdir(out)).toEqual([]);
    });
  }

  const cases: [string, RawEntry[], string, RegExp][] = [
    ["a character device", [{ path: "dev/null", type: "CharacterDevice" }], "dev/null", /is a device node/],
    ["a block device", [{ path: "sda", type: "BlockDevice" }], "sda", /is a device node/],
    ["a FIFO", [{ path: "pipe", type: "FIFO" }], "pipe", /is a FIFO/],
    ["a hard link out of the folder", [{ path: "h", type: "Link", linkpath: "../../etc/passwd" }], "h", /hard link to \.\.\/\.\.\/etc\/passwd, outside the artifact/],
    ["an absolute hard link", [{ path: "h", type: "Link", linkpath: "/etc/passwd" }], "h", /hard link to \/etc\/passwd, outside the artifact/],
    ["an absolute path", [{ path: "/tmp/berth-evil", body: "x" }], "/tmp/berth-evil", /absolute path/],
    ["a parent-directory entry", [{ path: "ok/../../evil", body: "x" }], "ok/../../evil", /'\.\.' in its path/],
    ["a symlink out of the folder", [{ path: "lnk", type: "SymbolicLink", linkpath: "../x" }], "lnk", /symlink to \.\.\/x, outside the artifact/],
  ];
  for (const [what, entries, entry, why] of cases) {
    it(`refuses ${what}`, async () => {
      const tgz = await write("bad.tgz", rawTgz([{ path: "first", body: "fine" }, ...entries]));
      const out = await dest();
      const err = await failure(unpackArtifact(tgz, out));
      expect(err).toBeInstanceOf(UnpackError);
      expect(err).toMatchObject({ code: "ARTIFACT_REFUSED", entry });
      expect((err as Error).message).toContain(`entry ${JSON.stringify(entry)} `);
      expect((err as Error).message).toMatch(why);
    });
  }

  it("keeps a hard link between two files of the archive", async () => {
    const tgz = await write("link.tgz", rawTgz([{ path: "a/one", body: "same" }, { path: "two", type: "Link", linkpath: "a/one" }]));
    const out = await dest();
    await unpackArtifact(tgz, out);
    expect((await stat(join(out, "two"))).ino).toBe((await stat(join(out, "a", "one"))).ino);
  });

  it("refuses more entries than the limit", async () => {
    const tgz = await write("many.tgz", rawTgz([{ path: "a" }, { path: "b" }, { path: "c" }]));
    const err = await failure(unpackArtifact(tgz, await dest(), { limits: { maxBytes: MiB, maxEntries: 2 } }));
    expect(err).toMatchObject({ code: "ARTIFACT_REFUSED", entry: "c" });
  });
});

describe("checkArtifact", () => {
  it("applies the same refusals without writing anything", async () => {
    const tgz = await gnuSparseTgz(work, "gnu");
    const before = (await readdir(work)).sort();
    const err = await failure(checkArtifact(tgz));
    expect(err).toMatchObject({ name: "UnpackError", code: "ARTIFACT_REFUSED", entry: "data.img" });
    expect((await readdir(work)).sort()).toEqual(before);
    await expect(checkArtifact(await write("dev.tgz", rawTgz([{ path: "d", type: "CharacterDevice" }])))).rejects.toMatchObject({ entry: "d" });
    await expect(checkArtifact(await write("bomb.tgz", zeroBomb(512)))).rejects.toMatchObject({ entry: "zeros" });
  });

  it("accepts a good archive", async () => {
    await checkArtifact(await write("good.tgz", rawTgz([{ path: "bin", type: "Directory" }, { path: "bin/run", body: "#!/bin/sh\n", mode: 0o755 }])));
  });
});
