import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArtifactError, ArtifactStore } from "../../../controller/artifacts/artifact-store.js";
import { packArtifact } from "../../../shared/artifact/pack.js";
import { gnuSparseTgz, rawTgz } from "../artifacts/tar-fixtures.js";

let work: string;
let store: ArtifactStore;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-store-test-"));
  store = new ArtifactStore(join(work, "artifacts"));
  await store.init();
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
async function* chunks(data: Uint8Array, size = 4096): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}
const upload = (bytes: Buffer): Promise<void> => store.put(sha(bytes), bytes.length, chunks(bytes));

describe("ArtifactStore.put", () => {
  it("stores a packed artifact under its digest", async () => {
    const src = join(work, "src");
    await mkdir(src);
    await writeFile(join(src, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
    const packed = await packArtifact(src, { outDir: work });
    const bytes = await readFile(packed.file);
    await upload(bytes);
    expect(await store.size(packed.sha256)).toBe(bytes.length);
  });

  it("refuses, at upload, an archive the agents would refuse to unpack, naming the entry", async () => {
    const sparse = await readFile(await gnuSparseTgz(work, "gnu"));
    const err = await upload(sparse).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArtifactError);
    expect((err as Error).message).toBe(`artifact ${sha(sparse).slice(0, 12)} refused: entry "data.img" is a sparse file, which cannot be unpacked faithfully; pack it without --sparse`);
    const dev = rawTgz([{ path: "ok", body: "x" }, { path: "dev/sda", type: "BlockDevice" }]);
    await expect(upload(dev)).rejects.toThrow(/entry "dev\/sda" is a device node/);
    const up = rawTgz([{ path: "../../etc/cron.d/x", body: "x" }]);
    await expect(upload(up)).rejects.toThrow(/entry "\.\.\/\.\.\/etc\/cron\.d\/x" has '\.\.' in its path/);
    // nothing stored, nothing left in tmp
    expect(await store.size(sha(sparse))).toBeUndefined();
    expect(await store.size(sha(dev))).toBeUndefined();
    expect((await readdir(join(work, "artifacts"))).sort()).toEqual(["tmp"]);
    expect(await readdir(join(work, "artifacts", "tmp"))).toEqual([]);
  });

  it("refuses bytes that are not an archive at all", async () => {
    await expect(upload(Buffer.from("just some text, not a tar file at all ".repeat(40)))).rejects.toThrow(/refused: .*TAR_BAD_ARCHIVE|refused: .*TAR_ENTRY_INVALID/);
  });
});
