/**
 * The agent's content-addressed artifact cache. Everything is keyed by the sha256
 * of the .tgz, so a blob that is present is known good: bytes only enter under
 * their digest after they were hashed on the way in.
 *
 * Layout under dir (all on one filesystem so rename is atomic):
 *   blobs/<sha256>.tgz        verified archives
 *   unpacked/<sha256>/        each archive extracted once, the install/run folder
 *   tmp/                      in-flight downloads and extractions
 * A crash leaves at worst files in tmp/, which gc() removes.
 *
 * A blob's mtime is when it was last used (put, touch): sweep() keeps the
 * artifacts in use and the few used last, and removes the rest, so a host that
 * takes a new artifact with every deploy does not fill its disk.
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { chmod, lchown, mkdir, mkdtemp, open, readdir, rename, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { unpackArtifact } from "../../shared/artifact/unpack.js";

const SHA256_RE = /^[0-9a-f]{64}$/;
const MAX_REDIRECTS = 5;

/** The bytes received do not hash to the digest they were announced under. */
export class DigestMismatchError extends Error {
  override name = "DigestMismatchError";
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly bytes: number,
  ) {
    super(`artifact digest mismatch: expected sha256 ${expected}, got ${actual} (${bytes} bytes)`);
  }
}

/** Not a lowercase hex sha256; refused before it can become part of a path. */
export class InvalidDigestError extends Error {
  override name = "InvalidDigestError";
  constructor(readonly digest: string) {
    super(`not a sha256 digest (64 lowercase hex characters): ${JSON.stringify(digest)}`);
  }
}

/** unpacked() was asked for an artifact the cache does not hold. */
export class ArtifactMissingError extends Error {
  override name = "ArtifactMissingError";
  constructor(readonly sha256: string) {
    super(`artifact ${sha256} is not in the cache`);
  }
}

/** A download failed before its bytes could be checked. */
export class FetchError extends Error {
  override name = "FetchError";
  constructor(
    message: string,
    readonly url: string,
    /** the HTTP status, when a response arrived */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ArtifactCacheOptions {
  /**
   * Extra CA certificates (PEM) trusted for fetchUrl, for artifact servers behind
   * a private CA. Default: Node's bundled roots only.
   */
  ca?: string | string[];
  /** A download with no data for this long fails. @default 30_000 */
  idleTimeoutMs?: number;
}

export interface FetchOptions {
  signal?: AbortSignal;
}

export class ArtifactCache {
  private readonly blobs: string;
  private readonly unpackedDir: string;
  private readonly tmp: string;
  /** Temp paths of puts and unpacks in progress, which gc() must not remove. */
  private readonly inFlight = new Set<string>();
  /** One extraction per digest at a time; later callers await the first. */
  private readonly unpacking = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    private readonly opts: ArtifactCacheOptions = {},
  ) {
    this.blobs = join(dir, "blobs");
    this.unpackedDir = join(dir, "unpacked");
    this.tmp = join(dir, "tmp");
  }

  /** Where the verified blob for sha256 lives (whether or not it is present). */
  path(sha256: string): string {
    checkDigest(sha256);
    return join(this.blobs, `${sha256}.tgz`);
  }

  async has(sha256: string): Promise<boolean> {
    return exists(this.path(sha256));
  }

  /**
   * Streams source into a temp file while hashing it, and moves it into place only
   * when the digest matches; otherwise deletes it and throws DigestMismatchError.
   * Returns the blob's path. The data is fsynced before the rename so that a crash
   * cannot leave a blob whose name promises bytes that never reached the disk.
   */
  async put(sha256: string, source: AsyncIterable<Uint8Array>): Promise<string> {
    const final = this.path(sha256);
    await this.ensureDirs();
    const tmp = join(this.tmp, `put-${randomUUID()}`);
    this.inFlight.add(tmp);
    try {
      const hash = createHash("sha256");
      let bytes = 0;
      const fh = await open(tmp, "wx", 0o644);
      try {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
          // Awaiting each write is the backpressure: the source is not read faster
          // than the disk takes it.
          await fh.write(chunk);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const actual = hash.digest("hex");
      if (actual !== sha256) throw new DigestMismatchError(sha256, actual, bytes);
      await rename(tmp, final);
      return final;
    } finally {
      this.inFlight.delete(tmp);
      await rm(tmp, { force: true });
    }
  }

  /**
   * Downloads url into the cache unless sha256 is already held; returns the blob's
   * path. https only, redirects included (at most 5, never to http), so the
   * transport is authenticated even though the digest check would catch tampering.
   */
  async fetchUrl(url: string, sha256: string, opts: FetchOptions = {}): Promise<string> {
    checkDigest(sha256);
    if (await this.has(sha256)) return this.path(sha256);
    const res = await this.get(url, opts.signal);
    try {
      return await this.put(sha256, res);
    } catch (err) {
      res.destroy();
      throw err;
    }
  }

  private async get(url: string, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    let current = url;
    for (let hop = 0; ; hop++) {
      const target = parseHttpsUrl(current, url);
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpsRequest(target, { method: "GET", ca: this.opts.ca, signal }, resolve);
        req.setTimeout(this.opts.idleTimeoutMs ?? 30_000, () => {
          req.destroy(new FetchError(`${current}: no data for ${this.opts.idleTimeoutMs ?? 30_000} ms`, url));
        });
        req.on("error", (err) => reject(err instanceof FetchError ? err : new FetchError(`${current}: ${err.message}`, url, undefined, { cause: err })));
        req.end();
      });
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume(); // drain the redirect body so the socket can be reused or closed
        if (hop >= MAX_REDIRECTS) throw new FetchError(`${url}: more than ${MAX_REDIRECTS} redirects`, url, status);
        current = new URL(res.headers.location, current).toString();
        continue;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        throw new FetchError(`${current}: HTTP ${status}`, url, status);
      }
      return res;
    }
  }

  /**
   * The folder holding sha256's contents, extracting it on first use. Extraction
   * goes to a temp folder renamed into place, so a folder that exists is complete;
   * calling this again (or concurrently) returns the same folder.
   *
   * The folder is also where install steps run and may write: later calls return
   * it as those steps left it.
   */
  async unpacked(sha256: string, owner?: { uid: number; gid: number }): Promise<string> {
    const blob = this.path(sha256);
    // One folder per owner: the service's user owns its copy (its install steps and
    // the process write there), and a copy one service's user could have changed is
    // never handed to another user — least of all to root.
    const name = owner ? `${sha256}${OWNER_SEP}${owner.uid}` : sha256;
    const final = join(this.unpackedDir, name);
    const pending = this.unpacking.get(name);
    if (pending !== undefined) return pending;
    const work = (async (): Promise<string> => {
      if (await exists(final)) return final;
      if (!(await exists(blob))) throw new ArtifactMissingError(sha256);
      await this.ensureDirs();
      const tmp = await mkdtemp(join(this.tmp, "unpack-"));
      this.inFlight.add(tmp);
      let failed = false;
      try {
        await unpackArtifact(blob, tmp);
        // mkdtemp makes 0700; the artifact's root should read like any folder so a
        // service running as another user can enter it (the archive may set it).
        const mode = (await stat(tmp)).mode & 0o7777;
        if (mode === 0o700) await chmod(tmp, 0o755);
        if (owner) await chownTree(tmp, owner.uid, owner.gid);
        try {
          await rename(tmp, final);
        } catch (err) {
          // Another agent process won the race: its folder is as good as ours.
          if (!isCode(err, "ENOTEMPTY") && !isCode(err, "EEXIST")) throw err;
        }
        return final;
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        this.inFlight.delete(tmp);
        // unpackArtifact settles only once nothing writes into tmp any more, so
        // this removal does not race the extraction. Should it fail anyway, the
        // unpack's own error is the one worth reporting; gc() removes the rest.
        await rm(tmp, { recursive: true, force: true, maxRetries: 3 }).catch((err: unknown) => {
          if (!failed) throw err;
        });
      }
    })();
    this.unpacking.set(name, work);
    try {
      return await work;
    } finally {
      this.unpacking.delete(name);
    }
  }

  /**
   * Forgets the extracted folder (the blob stays), so the next unpacked() starts
   * from pristine content: for retrying an install whose failed steps left the
   * folder half-built.
   */
  async removeUnpacked(sha256: string): Promise<void> {
    checkDigest(sha256);
    for (const name of await readdirOrEmpty(this.unpackedDir)) {
      if (digestOf(name) !== sha256) continue;
      await this.unpacking.get(name)?.catch(() => undefined);
      await rm(join(this.unpackedDir, name), { recursive: true, force: true });
    }
  }

  /** Digests of the blobs held, sorted (the agent reports them for scheduling). */
  async list(): Promise<string[]> {
    const names = await readdirOrEmpty(this.blobs);
    return names
      .filter((n) => n.endsWith(".tgz") && SHA256_RE.test(n.slice(0, -4)))
      .map((n) => n.slice(0, -4))
      .sort();
  }

  /** Marks sha256 as used now (its blob's mtime), for sweep(); a blob not held is no error. */
  async touch(sha256: string): Promise<void> {
    const now = new Date();
    await utimes(this.path(sha256), now, now).catch((err: unknown) => {
      if (!isCode(err, "ENOENT")) throw err;
    });
  }

  /**
   * Keeps the artifacts in `inUse` and the `spare` others used most recently (for a
   * quick undo or a move back), and removes every other blob and unpacked folder
   * (gc). `before` is told what goes first — the install markers of those
   * artifacts must go before their folders do, or an agent stopped in between would
   * find an install marked done for a folder unpacked afresh. Returns the digests
   * removed. Not safe against a fetch or unpack of the same cache running meanwhile:
   * the caller runs it between them (the converger's passes).
   */
  async sweep(inUse: Iterable<string>, spare: number, before?: (remove: ReadonlySet<string>) => Promise<void>): Promise<string[]> {
    const keep = new Set(inUse);
    const others: { digest: string; usedMs: number }[] = [];
    for (const digest of await this.list()) {
      if (keep.has(digest)) continue;
      const st = await stat(this.path(digest)).catch(() => undefined);
      others.push({ digest, usedMs: st?.mtimeMs ?? 0 });
    }
    others.sort((a, b) => b.usedMs - a.usedMs || (a.digest < b.digest ? -1 : 1));
    for (const o of others.slice(0, Math.max(0, spare))) keep.add(o.digest);
    const remove = new Set<string>();
    for (const d of others) if (!keep.has(d.digest)) remove.add(d.digest);
    // Folders whose blob is gone (an interrupted sweep) go too.
    for (const name of await readdirOrEmpty(this.unpackedDir)) if (!keep.has(digestOf(name))) remove.add(digestOf(name));
    if (remove.size > 0) await before?.(remove);
    return this.gc(keep);
  }

  /**
   * Removes every blob and unpacked folder whose digest is not in keep, and the
   * leftovers of interrupted puts and unpacks. Returns the digests removed.
   */
  async gc(keep: Set<string>): Promise<string[]> {
    const removed = new Set<string>();
    for (const name of await readdirOrEmpty(this.blobs)) {
      const digest = name.endsWith(".tgz") ? name.slice(0, -4) : name;
      if (keep.has(digest)) continue;
      await rm(join(this.blobs, name), { force: true });
      removed.add(digest);
    }
    for (const name of await readdirOrEmpty(this.unpackedDir)) {
      if (keep.has(digestOf(name))) continue;
      await rm(join(this.unpackedDir, name), { recursive: true, force: true });
      removed.add(digestOf(name));
    }
    for (const name of await readdirOrEmpty(this.tmp)) {
      const p = join(this.tmp, name);
      if (!this.inFlight.has(p)) await rm(p, { recursive: true, force: true });
    }
    return [...removed].sort();
  }

  private async ensureDirs(): Promise<void> {
    await mkdir(this.blobs, { recursive: true });
    await mkdir(this.unpackedDir, { recursive: true });
    await mkdir(this.tmp, { recursive: true });
  }
}

/** unpacked/<sha256>@<uid>: the copy owned by that user. */
const OWNER_SEP = "@";
const digestOf = (name: string): string => name.split(OWNER_SEP)[0]!;

/**
 * lchown of `dir` and everything below it: symlinks themselves, never what they point
 * at, and never a directory reached through one. `readdir({ recursive: true })` follows
 * a symlinked directory, so an artifact (or a working dir) holding `etc -> /etc` had
 * /etc's files handed to the service's user. Only for a tree no one else writes to
 * while it runs (a fresh unpack): a path walk cannot be made safe against a writer
 * swapping a directory for a link between two steps.
 */
export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await lchown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    // Dirent types are lstat's: a link to a directory is a link, not a directory.
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await lchown(p, uid, gid);
  }
}

function checkDigest(sha256: string): void {
  if (!SHA256_RE.test(sha256)) throw new InvalidDigestError(sha256);
}

function parseHttpsUrl(current: string, original: string): URL {
  let u: URL;
  try {
    u = new URL(current);
  } catch (err) {
    throw new FetchError(`${current}: not a URL`, original, undefined, { cause: err });
  }
  if (u.protocol !== "https:") throw new FetchError(`${current}: only https URLs are fetched`, original);
  return u;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if (isCode(err, "ENOENT")) return false;
    throw err;
  }
}

async function readdirOrEmpty(p: string): Promise<string[]> {
  try {
    return await readdir(p);
  } catch (err) {
    if (isCode(err, "ENOENT")) return [];
    throw err;
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}
