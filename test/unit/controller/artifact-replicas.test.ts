/**
 * Artifacts between the members of a group (controller/artifacts/replicas.ts): a
 * member fetches one it lacks from a member that has it, keeping only a verified
 * copy; an upload is acknowledged once a second member holds it. The members are
 * fakes of MemberService's client over real content-addressed stores.
 */
import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArtifactStore } from "../../../controller/artifacts/artifact-store.js";
import { ArtifactReplicas, copiesWanted, copyDeadlineMs, ReplicationError } from "../../../controller/artifacts/replicas.js";
import type { MemberServiceClient } from "../../../shared/gen/berth/v1/MemberService.js";
import { packArtifact } from "../../../shared/artifact/pack.js";
import { createLogger } from "../../../shared/log/logger.js";

const log = createLogger("test", "silent");
let work: string;
let bytes: Buffer;
let sha: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-replicas-test-"));
  await mkdir(join(work, "src"));
  await writeFile(join(work, "src", "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  const packed = await packArtifact(join(work, "src"), { outDir: work });
  bytes = await readFile(packed.file);
  sha = packed.sha256;
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A copy with byte `i` changed. */
function flipped(b: Buffer, i: number): Buffer {
  const c = Buffer.from(b);
  c.writeUInt8(c.readUInt8(i) ^ 0xff, i);
  return c;
}

async function storeAt(name: string): Promise<ArtifactStore> {
  const s = new ArtifactStore(join(work, name));
  await s.init();
  return s;
}

type Peer = { has?: Buffer; ensure?: () => Promise<boolean>; fetches: number };

/** A MemberService client of fake members by address: FetchArtifact streams `has` (in two chunks), EnsureArtifact runs `ensure`. */
function fakeClient(peers: Record<string, Peer>): (address: string) => MemberServiceClient {
  return (address) =>
    ({
      FetchArtifact: (req: { sha256: string }) => {
        const p = peers[address]!;
        p.fetches++;
        const data = p.has;
        async function* gen(): AsyncGenerator<{ sha256: string; size: number; data: Buffer }> {
          await Promise.resolve();
          if (!data) throw Object.assign(new Error("no artifact"), { code: grpc.status.NOT_FOUND });
          const half = Math.floor(data.length / 2);
          yield { sha256: req.sha256, size: data.length, data: data.subarray(0, half) };
          yield { sha256: "", size: 0, data: data.subarray(half) };
        }
        return Object.assign(gen(), { cancel: () => undefined });
      },
      EnsureArtifact: (_req: unknown, _opts: unknown, cb: (err: Error | null, res?: { present: boolean; size: number }) => void) => {
        const p = peers[address]!;
        (p.ensure ?? (async () => true))().then(
          (ok) => cb(null, { present: ok, size: 0 }),
          (err: Error) => cb(err),
        );
      },
    }) as unknown as MemberServiceClient;
}

function replicas(store: ArtifactStore, peers: Record<string, Peer>, known = new Set<string>()): ArtifactReplicas {
  return new ArtifactReplicas({
    artifacts: store,
    known,
    selfAddress: () => "self:1",
    others: async () => Object.keys(peers).map((address, i) => ({ id: `c${i + 2}`, address, startedAtMs: 0 })),
    client: fakeClient(peers),
    log,
  });
}

describe("ArtifactReplicas.ensure", () => {
  it("fetches a digest it lacks from a member that has it, verified, and knows it from then on", async () => {
    const store = await storeAt("a");
    const known = new Set<string>();
    const peers: Record<string, Peer> = { "b:1": { fetches: 0 }, "c:1": { has: bytes, fetches: 0 } };
    expect(await replicas(store, peers, known).ensure(sha)).toBe(bytes.length);
    expect(await store.size(sha)).toBe(bytes.length);
    expect(known.has(sha)).toBe(true);
    expect(createHash("sha256").update(await readFile(store.path(sha))).digest("hex")).toBe(sha);
  });

  it("refuses a copy whose bytes do not match the digest, and takes the next member's", async () => {
    const store = await storeAt("a");
    const bad = flipped(bytes, bytes.length - 1);
    const peers: Record<string, Peer> = { "b:1": { has: bad, fetches: 0 }, "c:1": { has: bytes, fetches: 0 } };
    expect(await replicas(store, peers).ensure(sha, { from: "b:1" })).toBe(bytes.length);
    expect(peers["b:1"]!.fetches).toBe(1);
    expect(peers["c:1"]!.fetches).toBe(1);
  });

  it("asks `from` first, and no member at all when it has the digest", async () => {
    const store = await storeAt("a");
    const peers: Record<string, Peer> = { "b:1": { has: bytes, fetches: 0 }, "c:1": { has: bytes, fetches: 0 } };
    const r = replicas(store, peers);
    await r.ensure(sha, { from: "c:1" });
    expect([peers["b:1"]!.fetches, peers["c:1"]!.fetches]).toEqual([0, 1]);
    await r.ensure(sha);
    expect([peers["b:1"]!.fetches, peers["c:1"]!.fetches]).toEqual([0, 1]);
  });

  it("shares one fetch between concurrent asks for a digest", async () => {
    const store = await storeAt("a");
    const peers: Record<string, Peer> = { "b:1": { has: bytes, fetches: 0 } };
    const r = replicas(store, peers);
    expect(await Promise.all([r.ensure(sha), r.ensure(sha), r.ensure(sha)])).toEqual([bytes.length, bytes.length, bytes.length]);
    expect(peers["b:1"]!.fetches).toBe(1);
  });

  it("answers undefined when no member has it, and fails when the only copies are bad", async () => {
    const store = await storeAt("a");
    expect(await replicas(store, { "b:1": { fetches: 0 } }).ensure(sha)).toBeUndefined();
    const bad = flipped(bytes, 0);
    await expect(replicas(store, { "b:1": { has: bad, fetches: 0 } }).ensure(sha)).rejects.toThrow(/could not be fetched from another member \(b:1: sha256 mismatch/);
    expect(await store.size(sha)).toBeUndefined();
  });

  it("refuses a copy of another size than asked for", async () => {
    const store = await storeAt("a");
    await expect(replicas(store, { "b:1": { has: bytes, fetches: 0 } }).ensure(sha, { size: bytes.length + 1 })).rejects.toThrow(/bytes, .* were asked for/);
  });
});

describe("ArtifactReplicas.replicate", () => {
  it("resolves once one other member holds a copy, without waiting for the rest", async () => {
    const store = await storeAt("a");
    let releaseSlow: (ok: boolean) => void = () => undefined;
    const slow = new Promise<boolean>((r) => (releaseSlow = r));
    const peers: Record<string, Peer> = { "b:1": { fetches: 0, ensure: () => slow }, "c:1": { fetches: 0, ensure: async () => true } };
    expect(await replicas(store, peers).replicate(sha, bytes.length)).toEqual({ copies: 2, on: ["c3"] });
    releaseSlow(true);
  });

  it("is acknowledged with one copy when this member is alone, and refused when no other member could take one", async () => {
    const store = await storeAt("a");
    expect(await replicas(store, {}).replicate(sha, bytes.length)).toEqual({ copies: 1, on: [] });
    const failing: Record<string, Peer> = {
      "b:1": { fetches: 0, ensure: async () => Promise.reject(Object.assign(new Error("down"), { details: "connect ECONNREFUSED" })) },
      "c:1": { fetches: 0, ensure: async () => false },
    };
    const err = await replicas(store, failing).replicate(sha, bytes.length).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicationError);
    expect((err as Error).message).toMatch(/^no other member took a copy \(.*c2: connect ECONNREFUSED.*c3: it could not find the artifact/);
  });

  it("wants two copies whenever two members are live, and gives a big copy more time", () => {
    expect([copiesWanted(1), copiesWanted(2), copiesWanted(3), copiesWanted(5)]).toEqual([1, 2, 2, 2]);
    expect(copyDeadlineMs(50_000_000)).toBe(65_000);
    expect(copyDeadlineMs(2 * 1024 ** 3)).toBeGreaterThan(4 * 60_000);
  });
});
