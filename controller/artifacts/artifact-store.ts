/**
 * Content-addressed artifact store: each artifact is a file named by its sha256
 * under DATA_DIR/artifacts. Blobs stay out of the KV store (which holds only
 * small records); the same bytes are stored once however many services or
 * revisions use them. Uploads are hashed while they stream to a temp file and
 * renamed into place only when the digest matches and the archive passes the
 * same entry checks the agents apply when they unpack it (checkArtifact), so a
 * bad archive is refused at apply time rather than on every host.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, type ReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { checkArtifact, UnpackError } from "../../shared/artifact/unpack.js";

export const SHA256 = /^[0-9a-f]{64}$/;
/** Largest artifact accepted. @default 2 GiB */
export const MAX_ARTIFACT_BYTES = 2 * 1024 ** 3;

export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactError";
  }
}

export class ArtifactStore {
  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.dir, "tmp"), { recursive: true });
    // Uploads interrupted by a crash leave temp files; none is referenced.
    await rm(join(this.dir, "tmp"), { recursive: true, force: true });
    await mkdir(join(this.dir, "tmp"), { recursive: true });
  }

  path(sha256: string): string {
    if (!SHA256.test(sha256)) throw new ArtifactError(`not a sha256: ${sha256.slice(0, 80)}`);
    return join(this.dir, sha256);
  }

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(sha256))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  /** Streams chunks into the store; resolves when stored under `sha256`, rejects (storing nothing) otherwise. */
  async put(sha256: string, size: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    this.path(sha256);
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ARTIFACT_BYTES) throw new ArtifactError(`size ${size}: at most ${MAX_ARTIFACT_BYTES} bytes`);
    if ((await this.size(sha256)) !== undefined) {
      for await (const _ of chunks) void _; // drain: the client is still sending
      return;
    }
    const tmp = join(this.dir, "tmp", `${sha256}.${randomBytes(4).toString("hex")}`);
    const hash = createHash("sha256");
    let got = 0;
    let out: FileHandle | undefined;
    try {
      out = await open(tmp, "wx", 0o644);
      for await (const c of chunks) {
        got += c.length;
        if (got > size) throw new ArtifactError(`more bytes than the announced ${size}`);
        hash.update(c);
        // Each write awaited: the backpressure, and its error (a full disk: ENOSPC) is this
        // call's to reject with. A write stream's 'error' with no listener yet ended the process.
        await out.write(c);
      }
      // On disk before it is named: an artifact acknowledged to an apply survives a power loss.
      await out.sync();
      await out.close();
      out = undefined;
      if (got !== size) throw new ArtifactError(`got ${got} bytes, announced ${size}`);
      const digest = hash.digest("hex");
      if (digest !== sha256) throw new ArtifactError(`sha256 mismatch: announced ${sha256}, got ${digest}`);
      try {
        await checkArtifact(tmp);
      } catch (e) {
        if (e instanceof UnpackError) throw new ArtifactError(`artifact ${sha256.slice(0, 12)} refused: ${e.detail}`);
        throw e;
      }
      await rename(tmp, this.path(sha256));
    } catch (e) {
      await out?.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
  }

  read(sha256: string): ReadStream {
    return createReadStream(this.path(sha256), { highWaterMark: 256 * 1024 });
  }
}
