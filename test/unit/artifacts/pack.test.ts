import { gzipSync } from "node:zlib";
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Header } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PackError, packArtifact, sha256File } from "../../../shared/artifact/pack.js";
import { UnpackError, unpackArtifact } from "../../../shared/artifact/unpack.js";

let work: string;
const made: string[] = [];

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-pack-test-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
  for (const f of made.splice(0)) await rm(f, { force: true });
});

async function pack(path: string): Promise<{ sha256: string; bytes: number; file: string }> {
  const res = await packArtifact(path, { outDir: work });
  made.push(res.file);
  return res;
}

/** A small app folder, written in the given order (to vary inode and readdir order). */
async function writeApp(root: string, reverse = false): Promise<void> {
  const files: [string, string, number][] = [
    ["bin/web", "#!/bin/sh\necho web\n", 0o755],
    ["conf/app.yaml", "port: 8080\n", 0o644],
    ["README", "hello\n", 0o644],
    ["z/deep/er/file.txt", "deep\n", 0o600],
  ];
  for (const [rel, content, mode] of reverse ? [...files].reverse() : files) {
    await mkdir(join(root, rel, ".."), { recursive: true });
    await writeFile(join(root, rel), content);
    await chmod(join(root, rel), mode);
  }
  await symlink("../conf/app.yaml", join(root, "bin", "config"));
}

describe("packArtifact", () => {
  it("gives the same digest for the same folder, packed twice or copied in another order", async () => {
    const a = join(work, "a");
    const b = join(work, "b");
    await writeApp(a);
    await writeApp(b, true);
    const first = await pack(a);
    const again = await pack(a);
    const copy = await pack(b);
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(again.sha256).toBe(first.sha256);
    expect(copy.sha256).toBe(first.sha256);
    expect(first.bytes).toBe((await stat(first.file)).size);
    expect((await sha256File(first.file)).sha256).toBe(first.sha256);
  });

  it("ignores modification times", async () => {
    const a = join(work, "a");
    await writeApp(a);
    const before = await pack(a);
    const past = new Date("2001-02-03T04:05:06Z");
    await utimes(join(a, "README"), past, past);
    await utimes(join(a, "bin"), past, past);
    expect((await pack(a)).sha256).toBe(before.sha256);
  });

  it("changes the digest when content, a name or a mode changes", async () => {
    const a = join(work, "a");
    await writeApp(a);
    const base = (await pack(a)).sha256;
    await writeFile(join(a, "README"), "hello!\n");
    const content = (await pack(a)).sha256;
    expect(content).not.toBe(base);
    await chmod(join(a, "README"), 0o755);
    const mode = (await pack(a)).sha256;
    expect(mode).not.toBe(content);
  });

  it("round-trips a folder: files, modes (executable bit) and relative symlinks", async () => {
    const a = join(work, "a");
    await writeApp(a);
    const packed = await pack(a);
    const out = join(work, "out");
    await mkdir(out);
    await unpackArtifact(packed.file, out);
    expect((await readdir(out)).sort()).toEqual(["README", "bin", "conf", "z"]);
    expect(await readFile(join(out, "bin", "web"), "utf8")).toBe("#!/bin/sh\necho web\n");
    expect((await stat(join(out, "bin", "web"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(out, "conf", "app.yaml"))).mode & 0o777).toBe(0o644);
    expect((await stat(join(out, "z", "deep", "er", "file.txt"))).mode & 0o777).toBe(0o600);
    expect((await lstat(join(out, "bin", "config"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(out, "bin", "config"))).toBe("../conf/app.yaml");
  });

  it("packs a single file at the archive root, keeping its executable bit", async () => {
    const file = join(work, "server");
    await writeFile(file, "#!/bin/sh\necho hi\n");
    await chmod(file, 0o755);
    const packed = await pack(file);
    const out = join(work, "out");
    await mkdir(out);
    await unpackArtifact(packed.file, out);
    expect(await readdir(out)).toEqual(["server"]);
    expect((await stat(join(out, "server"))).mode & 0o111).toBe(0o111);
  });

  it("packs an empty folder", async () => {
    const empty = join(work, "empty");
    await mkdir(empty);
    const packed = await pack(empty);
    const out = join(work, "out");
    await mkdir(out);
    await unpackArtifact(packed.file, out);
    expect(await readdir(out)).toEqual([]);
  });

  it("refuses symlinks that point outside the artifact", async () => {
    const a = join(work, "a");
    await mkdir(a);
    await symlink("/etc/passwd", join(a, "abs"));
    await expect(pack(a)).rejects.toBeInstanceOf(PackError);
    await rm(join(a, "abs"));
    await symlink("../../x", join(a, "up"));
    await expect(pack(a)).rejects.toMatchObject({ name: "PackError", entry: "up" });
  });
});

/** A .tgz with exactly these entries, however unsafe (node-tar would not write them). */
function rawTgz(entries: { path: string; type?: "File" | "SymbolicLink"; linkpath?: string; body?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    const h = new Header({
      path: e.path,
      type: e.type ?? "File",
      linkpath: e.linkpath ?? "",
      mode: 0o644,
      size: e.type === "SymbolicLink" ? 0 : body.length,
      mtime: new Date(0),
    });
    h.encode();
    if (h.block === undefined) throw new Error("header did not encode");
    blocks.push(h.block);
    if (e.type !== "SymbolicLink" && body.length > 0) {
      blocks.push(Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

describe("unpackArtifact", () => {
  const cases: [string, Parameters<typeof rawTgz>[0]][] = [
    ["a parent-directory entry", [{ path: "../evil", body: "x" }]],
    ["a nested parent-directory entry", [{ path: "ok/../../evil", body: "x" }]],
    ["an absolute path", [{ path: `/tmp/berth-unpack-evil-${process.pid}`, body: "x" }]],
    ["a symlink out of the folder, then a write through it", [
      { path: "lnk", type: "SymbolicLink", linkpath: "../.." },
      { path: "lnk/evil", body: "x" },
    ]],
    ["an absolute symlink target", [{ path: "lnk", type: "SymbolicLink", linkpath: "/etc" }]],
  ];

  for (const [what, entries] of cases) {
    it(`refuses ${what}, writing nothing outside the destination`, async () => {
      const tgz = join(work, "evil.tgz");
      await writeFile(tgz, rawTgz(entries));
      const dest = join(work, "a", "b", "dest");
      await mkdir(dest, { recursive: true });
      const err = await unpackArtifact(tgz, dest).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnpackError);
      expect(await readdir(join(work, "a", "b"))).toEqual(["dest"]);
      expect(await readdir(join(work, "a"))).toEqual(["b"]);
      expect((await readdir(work)).sort()).toEqual(["a", "evil.tgz"]);
      await expect(stat(`/tmp/berth-unpack-evil-${process.pid}`)).rejects.toMatchObject({ code: "ENOENT" });
    });
  }

  it("refuses a file that is not an archive", async () => {
    const junk = join(work, "junk.tgz");
    await writeFile(junk, gzipSync(Buffer.from("this is not a tar file, just text long enough to matter".repeat(20))));
    const dest = join(work, "dest");
    await mkdir(dest);
    await expect(unpackArtifact(junk, dest)).rejects.toBeInstanceOf(UnpackError);
  });
});
