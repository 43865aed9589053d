import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ArtifactCache,
  ArtifactMissingError,
  DigestMismatchError,
  FetchError,
  InvalidDigestError,
} from "../../../agent/artifacts/cache.js";
import { packArtifact } from "../../../shared/artifact/pack.js";
import { createCa, createServerCert } from "../../../shared/tls/pki.js";
import { gnuSparseTgz, rawTgz, zeroBomb } from "./tar-fixtures.js";

let work: string;
let cache: ArtifactCache;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-cache-test-"));
  cache = new ArtifactCache(join(work, "cache"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

async function* chunks(data: Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** A packed artifact holding one executable script. */
async function sampleArtifact(): Promise<{ bytes: Buffer; sha256: string }> {
  const src = join(work, "src");
  await mkdir(join(src, "bin"), { recursive: true });
  await writeFile(join(src, "bin", "run"), "#!/bin/sh\necho run\n", { mode: 0o755 });
  const packed = await packArtifact(src, { outDir: work });
  const bytes = await readFile(packed.file);
  await rm(packed.file);
  return { bytes, sha256: packed.sha256 };
}

describe("ArtifactCache.put", () => {
  it("stores bytes under their digest", async () => {
    const data = Buffer.from("hello artifact");
    const digest = sha(data);
    expect(await cache.has(digest)).toBe(false);
    const path = await cache.put(digest, chunks(data));
    expect(path).toBe(cache.path(digest));
    expect(await readFile(path)).toEqual(data);
    expect(await cache.has(digest)).toBe(true);
    expect(await cache.list()).toEqual([digest]);
  });

  it("refuses bytes that do not match the digest and leaves nothing behind", async () => {
    const data = Buffer.from("the real bytes");
    const claimed = sha(Buffer.from("other bytes"));
    const err = await cache.put(claimed, chunks(data)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err).toMatchObject({ expected: claimed, actual: sha(data), bytes: data.length });
    expect(await cache.has(claimed)).toBe(false);
    expect(await readdir(join(work, "cache", "tmp"))).toEqual([]);
    expect(await readdir(join(work, "cache", "blobs"))).toEqual([]);
  });

  it("removes the partial file when the source fails midway", async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from("part");
      throw new Error("connection reset");
    }
    await expect(cache.put(sha(Buffer.from("x")), broken())).rejects.toThrow("connection reset");
    expect(await readdir(join(work, "cache", "tmp"))).toEqual([]);
  });

  it("refuses something that is not a sha256 before touching the disk", async () => {
    await expect(cache.put("../../etc/passwd", chunks(Buffer.from("x")))).rejects.toBeInstanceOf(InvalidDigestError);
    expect(() => cache.path("ABC")).toThrow(InvalidDigestError);
  });
});

describe("ArtifactCache.unpacked", () => {
  it("extracts once into unpacked/<sha256>/ and returns the same folder after", async () => {
    const { bytes, sha256 } = await sampleArtifact();
    await cache.put(sha256, chunks(bytes, 100));
    const [a, b] = await Promise.all([cache.unpacked(sha256), cache.unpacked(sha256)]);
    expect(a).toBe(join(work, "cache", "unpacked", sha256));
    expect(b).toBe(a);
    expect(await readFile(join(a, "bin", "run"), "utf8")).toBe("#!/bin/sh\necho run\n");
    expect((await stat(join(a, "bin", "run"))).mode & 0o111).toBe(0o111);
    // readable by a service user other than the agent's
    expect((await stat(a)).mode & 0o777).toBe(0o755);
    // a step's output in the folder survives: it is not extracted again
    await writeFile(join(a, "built"), "by a step");
    expect(await cache.unpacked(sha256)).toBe(a);
    expect(await readFile(join(a, "built"), "utf8")).toBe("by a step");
    expect(await readdir(join(work, "cache", "tmp"))).toEqual([]);
  });

  it("extracts afresh after removeUnpacked, from the blob it still holds", async () => {
    const { bytes, sha256 } = await sampleArtifact();
    await cache.put(sha256, chunks(bytes, 100));
    const dir = await cache.unpacked(sha256);
    await writeFile(join(dir, "half-built"), "");
    await cache.removeUnpacked(sha256);
    expect(await cache.has(sha256)).toBe(true);
    expect((await readdir(await cache.unpacked(sha256))).sort()).toEqual(["bin"]);
  });

  it("fails for an artifact it does not hold", async () => {
    await expect(cache.unpacked(sha(Buffer.from("nope")))).rejects.toBeInstanceOf(ArtifactMissingError);
  });
});

describe("ArtifactCache.unpacked of an archive it refuses", () => {
  const failure = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );
  const tmpLeft = (): Promise<string[]> => readdir(join(work, "cache", "tmp"));
  const unpackedLeft = (): Promise<string[]> => readdir(join(work, "cache", "unpacked"));

  it("reports the bad entry, not the cleanup, once nothing is written any more, and leaves no files", async () => {
    // Many files still being written when the bad entry arrives: the cleanup used
    // to race them and fail with ENOTEMPTY, hiding the cause.
    const files = Array.from({ length: 300 }, (_, i) => ({ path: `d${i % 7}/f${i}`, body: Buffer.alloc(64 * 1024, i) }));
    const bytes = rawTgz([...files, { path: "../evil", body: "x" }, ...files.map((f) => ({ ...f, path: `late/${f.path}` }))]);
    await cache.put(sha(bytes), chunks(bytes, 64 * 1024));
    const err = await failure(cache.unpacked(sha(bytes)));
    expect(err).toMatchObject({ name: "UnpackError", entry: "../evil" });
    expect((err as Error).message).toMatch(/entry "\.\.\/evil" has '\.\.' in its path/);
    expect(await tmpLeft()).toEqual([]);
    expect(await unpackedLeft()).toEqual([]);
    // Still nothing after another unpack has come and gone (a straggling write would show).
    const { bytes: good, sha256 } = await sampleArtifact();
    await cache.put(sha256, chunks(good, 1000));
    await cache.unpacked(sha256);
    expect(await tmpLeft()).toEqual([]);
    expect(await unpackedLeft()).toEqual([sha256]);
  });

  it("reports a decompression bomb and a sparse file by name, leaving no files", async () => {
    const bomb = zeroBomb(512);
    await cache.put(sha(bomb), chunks(bomb, 64 * 1024));
    const err = await failure(cache.unpacked(sha(bomb)));
    expect((err as Error).message).toMatch(/entry "zeros" \(536870912 bytes\) makes the artifact larger than/);
    expect(await tmpLeft()).toEqual([]);

    const sparse = await readFile(await gnuSparseTgz(work, "posix-1.0"));
    await cache.put(sha(sparse), chunks(sparse, 1000));
    const err2 = await failure(cache.unpacked(sha(sparse)));
    expect((err2 as Error).message).toMatch(/GNUSparseFile[^"]*\/data.img" is a sparse file \(data.img\)/);
    expect(await tmpLeft()).toEqual([]);
    expect(await unpackedLeft()).toEqual([]);
  });
});

describe("ArtifactCache.gc", () => {
  it("removes every blob and folder not kept, and stray temp files", async () => {
    const { bytes, sha256: keep } = await sampleArtifact();
    await cache.put(keep, chunks(bytes, 1000));
    await cache.unpacked(keep);
    const other = Buffer.from("old version");
    await cache.put(sha(other), chunks(other));
    await writeFile(join(work, "cache", "tmp", "put-left-by-a-crash"), "junk");
    expect(await cache.list()).toEqual([keep, sha(other)].sort());
    expect(await cache.gc(new Set([keep]))).toEqual([sha(other)]);
    expect(await cache.list()).toEqual([keep]);
    expect(await readdir(join(work, "cache", "unpacked"))).toEqual([keep]);
    expect(await readdir(join(work, "cache", "tmp"))).toEqual([]);
  });

  it("is a no-op on a cache that was never used", async () => {
    expect(await cache.list()).toEqual([]);
    expect(await cache.gc(new Set())).toEqual([]);
  });
});

describe("ArtifactCache.sweep", () => {
  /** Blobs put with use times a minute apart, the first the oldest. */
  async function putUsed(names: string[]): Promise<string[]> {
    const digests: string[] = [];
    for (const [i, n] of names.entries()) {
      const b = Buffer.from(n);
      await cache.put(sha(b), chunks(b));
      const at = new Date(Date.UTC(2026, 0, 1, 0, i));
      await utimes(cache.path(sha(b)), at, at);
      digests.push(sha(b));
    }
    return digests;
  }

  it("keeps what is in use and the ones used last, and says what goes before it goes", async () => {
    const { bytes, sha256: running } = await sampleArtifact();
    await cache.put(running, chunks(bytes, 1000));
    await cache.unpacked(running, { uid: process.getuid!(), gid: process.getgid!() });
    const [v1, v2, v3, v4] = await putUsed(["v1", "v2", "v3", "v4"]);
    // v1 used again since: it is among the last used now.
    await cache.touch(v1!);
    const told: string[][] = [];
    const removed = await cache.sweep([running], 2, async (r) => {
      told.push([...r].sort());
      // Nothing is removed yet when the caller is told.
      expect((await cache.list()).length).toBe(5);
    });
    expect(removed).toEqual([v2!, v3!].sort());
    expect(told).toEqual([[v2!, v3!].sort()]);
    expect(await cache.list()).toEqual([running, v1!, v4!].sort());
    expect(await readdir(join(work, "cache", "unpacked"))).toEqual([`${running}@${process.getuid!()}`]);
  });

  it("keeps only what is in use with no spare, and removes folders whose blob is gone", async () => {
    const [v1, v2] = await putUsed(["v1", "v2"]);
    await mkdir(join(work, "cache", "unpacked", `${sha(Buffer.from("gone"))}@1000`), { recursive: true });
    await cache.sweep([v2!], 0);
    expect(await cache.list()).toEqual([v2!]);
    expect(await readdir(join(work, "cache", "unpacked"))).toEqual([]);
    expect(v1).toBeDefined();
  });

  it("tells nothing and removes nothing when everything is kept", async () => {
    await putUsed(["v1", "v2"]);
    let told = 0;
    expect(await cache.sweep([], 2, async () => void told++)).toEqual([]);
    expect(told).toBe(0);
    expect((await cache.list()).length).toBe(2);
  });

  it("touch of a blob not held is no error", async () => {
    await expect(cache.touch(sha(Buffer.from("absent")))).resolves.toBeUndefined();
  });
});

describe("ArtifactCache.fetchUrl", () => {
  let server: Server;
  let base: string;
  let caPem: string;
  let requests: string[];
  const body = Buffer.from("artifact bytes over https ".repeat(1000));

  beforeAll(async () => {
    const ca = await createCa({ commonName: "berth test CA" });
    const cert = await createServerCert(ca, { dnsNames: ["localhost"], ips: ["127.0.0.1"] });
    caPem = ca.certPem;
    server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      requests.push(req.url ?? "");
      const u = req.url ?? "/";
      if (u === "/a.tgz") {
        res.end(body);
      } else if (u.startsWith("/hop/")) {
        // /hop/N redirects N more times, then to /a.tgz
        const n = Number(u.slice(5));
        res.writeHead(302, { location: n > 1 ? `/hop/${n - 1}` : "/a.tgz" }).end();
      } else if (u === "/to-http") {
        res.writeHead(301, { location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.tgz` }).end();
      } else {
        res.writeHead(404).end("not here");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    requests = [];
    cache = new ArtifactCache(join(work, "cache"), { ca: caPem });
  });

  it("downloads and verifies, following redirects", async () => {
    const path = await cache.fetchUrl(`${base}/hop/5`, sha(body));
    expect(await readFile(path)).toEqual(body);
    expect(requests).toEqual(["/hop/5", "/hop/4", "/hop/3", "/hop/2", "/hop/1", "/a.tgz"]);
  });

  it("does not download what it already holds", async () => {
    await cache.fetchUrl(`${base}/a.tgz`, sha(body));
    requests = [];
    await cache.fetchUrl(`${base}/a.tgz`, sha(body));
    expect(requests).toEqual([]);
  });

  it("refuses a sixth redirect, a redirect to http, plain http, and HTTP errors", async () => {
    await expect(cache.fetchUrl(`${base}/hop/6`, sha(body))).rejects.toThrow(/more than 5 redirects/);
    await expect(cache.fetchUrl(`${base}/to-http`, sha(body))).rejects.toThrow(/only https/);
    await expect(cache.fetchUrl(base.replace("https:", "http:") + "/a.tgz", sha(body))).rejects.toBeInstanceOf(FetchError);
    await expect(cache.fetchUrl(`${base}/missing`, sha(body))).rejects.toMatchObject({ name: "FetchError", status: 404 });
    expect(await cache.list()).toEqual([]);
  });

  it("refuses a download whose bytes do not match", async () => {
    await expect(cache.fetchUrl(`${base}/a.tgz`, sha(Buffer.from("different")))).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await cache.list()).toEqual([]);
  });

  it("does not trust a server outside the configured CAs", async () => {
    const untrusting = new ArtifactCache(join(work, "cache2"));
    await expect(untrusting.fetchUrl(`${base}/a.tgz`, sha(body))).rejects.toBeInstanceOf(FetchError);
  });
});
