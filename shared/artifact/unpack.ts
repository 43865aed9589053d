/**
 * Unpacking (agent) and checking (controller) artifact archives, with the same
 * rules (entry-guard.ts) and the same streaming read.
 *
 * Why not node-tar's extract({ file }): it gunzips with minizlib, which runs zlib
 * synchronously on the calling thread. A 1 MB archive of a 1 GiB zero-filled file
 * then held the agent's event loop for whole seconds at a time (measured: 9.6 s
 * without a single tick, 30 s in all), long enough for its stream to the controller
 * to miss heartbeats and the host to be declared down. Here the gunzip is Node's
 * own zlib stream, which inflates on the libuv thread pool, 16 KiB of output at a
 * time with backpressure, so the loop only ever parses one small chunk between
 * ticks (measured: under 20 ms of lag while unpacking 1 GiB).
 *
 * Why not strict mode: a strict node-tar emits its first error and carries on
 * writing the entries already under way, so a caller cleaning up on that error
 * raced the writes (ENOTEMPTY, files left behind). Here every warning is recorded
 * as the failure, input stops, nothing more is admitted by the filter, and the
 * promise settles only once node-tar has closed every file it opened.
 */
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Stats } from "node:fs";
import { Parser, Unpack, ReadEntry } from "tar";
import { ArchiveGuard, limitsFor, safeMode, type ArchiveLimits, type Refusal } from "./entry-guard.js";

/** The archive was refused (an entry it holds, or its size) or could not be read. */
export class UnpackError extends Error {
  override name = "UnpackError";
  constructor(
    message: string,
    /** ARTIFACT_REFUSED for what entry-guard.ts refuses; else node-tar's or zlib's code, e.g. TAR_BAD_ARCHIVE, Z_DATA_ERROR */
    readonly code: string,
    options: { cause?: unknown; entry: string; file: string },
  ) {
    super(`${basename(options.file)}: ${message}`, options);
    this.entry = options.entry;
    this.detail = message;
  }
  /** The archive entry at fault, "" when it is the archive as a whole. */
  readonly entry: string;
  /** The message without the archive's file name (which means little to the sender of an upload). */
  readonly detail: string;
}

export interface UnpackOptions {
  /** Default: limitsFor(the archive's size). */
  limits?: ArchiveLimits;
}

/**
 * Extracts a .tgz (or plain .tar) into destDir, which must exist. Refuses the
 * whole archive, with UnpackError naming the entry, for anything entry-guard.ts
 * refuses and for anything node-tar would skip or rewrite (a write through a
 * symlink, a corrupt header). Owners in the archive are ignored (as root, node-tar
 * would otherwise chown to the archive's uids), setuid/setgid/sticky bits are
 * stripped. On failure destDir may hold a partial tree, but nothing is still being
 * written to it when the promise settles, so the caller can remove it.
 */
export async function unpackArtifact(tgzPath: string, destDir: string, opts: UnpackOptions = {}): Promise<void> {
  await drive(tgzPath, opts, (filter) => new Unpack({ cwd: destDir, strict: false, preserveOwner: false, filter }));
}

/**
 * Reads the whole archive and applies the same refusals as unpackArtifact without
 * writing anything: the controller runs it on an upload, so a bad artifact is
 * refused once, at apply time, instead of on every host it is sent to.
 */
export async function checkArtifact(tgzPath: string, opts: UnpackOptions = {}): Promise<void> {
  await drive(tgzPath, opts, (filter) => {
    const p = new Parser({ strict: false, filter });
    p.on("entry", (e: ReadEntry) => e.resume());
    return p;
  });
}

/** gzip's magic bytes (RFC 1952), and zstd's, which node-tar would also sniff and inflate synchronously. */
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

type Filter = (path: string, entry: ReadEntry | Stats) => boolean;

async function drive(file: string, opts: UnpackOptions, make: (filter: Filter) => Parser): Promise<void> {
  const limits = opts.limits ?? limitsFor((await stat(file)).size);
  const gzipped = startsWith(await head(file, GZIP_MAGIC.length), GZIP_MAGIC);
  const guard = new ArchiveGuard(limits);
  let failure: UnpackError | undefined;

  const source = createReadStream(file);
  const gunzip = gzipped ? createGunzip() : undefined;
  const counter = new ByteGuard((total, first) => {
    if (first !== undefined && (startsWith(first, GZIP_MAGIC) || startsWith(first, ZSTD_MAGIC))) {
      return { entry: "", reason: "the archive is compressed twice; an artifact is a tar, optionally gzipped once" };
    }
    return guard.bytes(total);
  });

  let stopping = false;
  // Deferred: called from inside the parser's own write (its filter, its events),
  // which must not be ended re-entrantly.
  const stopInput = (): void => {
    if (stopping) return;
    stopping = true;
    setImmediate(() => {
      source.destroy();
      gunzip?.destroy();
      counter.unpipe();
      counter.destroy();
      parser.end();
    });
  };
  const fail = (err: UnpackError): void => {
    if (failure !== undefined) return;
    failure = err;
    // Entries already admitted finish writing; the filter admits no more.
    stopInput();
  };
  const refuse = (r: Refusal): void => {
    const where = r.entry === "" ? "" : `entry ${JSON.stringify(r.entry)} `;
    fail(new UnpackError(`${where}${r.reason}`, "ARTIFACT_REFUSED", { entry: r.entry, file }));
  };
  const fromError = (err: unknown): void => {
    const entry = entryOf(err);
    const where = entry === "" ? "" : `entry ${JSON.stringify(entry)}: `;
    const message = err instanceof Error ? err.message : String(err);
    fail(new UnpackError(`${where}${message}`, codeOf(err), { cause: err, entry, file }));
  };
  counter.onRefusal = refuse;

  const filter: Filter = (_path, entry) => {
    if (failure !== undefined || !(entry instanceof ReadEntry)) return false;
    const r = guard.entry(entry);
    if (r !== undefined) {
      refuse(r);
      return false;
    }
    if (typeof entry.mode === "number") entry.mode = safeMode(entry.mode);
    return true;
  };
  const parser = make(filter);
  parser.on("meta", (body: string) => guard.meta(body));
  // What follows the end-of-archive blocks is padding or junk, which GNU tar also
  // ignores. node-tar would buffer all of it, unread, without ever draining, so
  // input stops here: a bomb hidden after the end is never even inflated.
  parser.on("eof", stopInput);
  // Entries node-tar skips without asking the filter: types it does not know
  // (old GNU sparse "S" among them) and oversized PAX headers.
  parser.on("ignoredEntry", (entry: ReadEntry) => {
    if (failure !== undefined) return;
    refuse(guard.entry(entry) ?? { entry: entry.path, reason: `has entry type ${entry.type}, which cannot be unpacked` });
  });
  // Not strict, but every warning fails the archive all the same: see the top.
  parser.on("warn", (code: string, message: unknown, data: unknown) => fromError(data instanceof Error ? data : Object.assign(new Error(`${code}: ${String(message)}`), data)));
  parser.on("error", fromError);
  const closed = new Promise<void>((resolve) => parser.on("close", () => resolve()));

  source.on("error", fromError);
  gunzip?.on("error", fromError);
  counter.on("error", fromError);
  (gunzip ? source.pipe(gunzip).pipe(counter) : source.pipe(counter)).pipe(parser);

  await closed;
  if (failure !== undefined) throw failure;
}

/**
 * Counts the decompressed bytes on their way to the parser, refusing once there
 * are too many: the guard's header check covers file contents, but a bomb can
 * also be made of headers alone (PAX records, empty entries), which declare no size.
 */
class ByteGuard extends Transform {
  private total = 0;
  private firstBytes: Buffer | undefined = Buffer.alloc(0);
  private stopped = false;
  onRefusal: (r: Refusal) => void = () => undefined;

  constructor(private readonly check: (total: number, first: Buffer | undefined) => Refusal | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.stopped) return cb();
    this.total += chunk.length;
    let first: Buffer | undefined;
    if (this.firstBytes !== undefined) {
      // Held back until the magic numbers can be told apart, so the parser never
      // sees a nested compressed stream (which it would inflate synchronously).
      this.firstBytes = Buffer.concat([this.firstBytes, chunk]);
      if (this.firstBytes.length < ZSTD_MAGIC.length) return cb();
      first = this.firstBytes;
      this.firstBytes = undefined;
      chunk = first;
    }
    const r = this.check(this.total, first);
    if (r !== undefined) {
      this.stopped = true;
      this.onRefusal(r);
      return cb();
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.firstBytes !== undefined && this.firstBytes.length > 0) {
      const r = this.check(this.total, this.firstBytes);
      if (r !== undefined) {
        this.onRefusal(r);
        return cb();
      }
      this.push(this.firstBytes);
    }
    cb();
  }
}

async function head(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function startsWith(buf: Buffer, magic: number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}

function codeOf(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const rec = err as { tarCode?: unknown; code?: unknown };
    if (typeof rec.tarCode === "string") return rec.tarCode;
    if (typeof rec.code === "string") return rec.code;
  }
  return "UNKNOWN";
}

function entryOf(err: unknown): string {
  if (typeof err !== "object" || err === null) return "";
  const e = (err as { entry?: unknown }).entry;
  if (typeof e === "object" && e !== null && typeof (e as { path?: unknown }).path === "string") return (e as { path: string }).path;
  return "";
}
