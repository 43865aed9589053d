/**
 * Archives the artifact tests need and that packArtifact (rightly) would never
 * make: unsafe entries written header by header, decompression bombs, and GNU
 * tar's sparse formats made by GNU tar itself.
 */
import { execFileSync } from "node:child_process";
import { mkdir, open, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header } from "tar";

export interface RawEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "BlockDevice" | "FIFO";
  linkpath?: string;
  body?: string | Buffer;
  mode?: number;
}

const BLOCK = 512;
const pad = (n: number): Buffer => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

function header(h: ConstructorParameters<typeof Header>[0]): Buffer {
  const hd = new Header(h);
  hd.encode();
  if (hd.block === undefined) throw new Error("header did not encode");
  return hd.block;
}

/** A plain tar with exactly these entries, however unsafe (node-tar would not write them). */
export function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? "File";
    const body = type === "File" ? Buffer.from(e.body ?? "") : Buffer.alloc(0);
    blocks.push(header({ path: e.path, type, linkpath: e.linkpath ?? "", mode: e.mode ?? (type === "Directory" ? 0o755 : 0o644), size: body.length, mtime: new Date(0) }));
    if (body.length > 0) blocks.push(body, pad(body.length));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}

export const rawTgz = (entries: RawEntry[]): Buffer => gzipSync(rawTar(entries));

const MiB = 1024 * 1024;

/**
 * A .tgz of one file of `mib` MiB of zeros (named zeros), about mib KiB in size:
 * gzip members may be concatenated, so one compressed MiB of zeros is repeated
 * instead of deflating the whole thing. trailingMib adds zeros after the end of
 * the archive, which no header declares.
 */
export function zeroBomb(mib: number, trailingMib = 0): Buffer {
  const zeros = gzipSync(Buffer.alloc(MiB), { level: 9 });
  const parts = [gzipSync(header({ path: "zeros", type: "File", mode: 0o644, size: mib * MiB, mtime: new Date(0) }))];
  for (let i = 0; i < mib; i++) parts.push(zeros);
  parts.push(gzipSync(Buffer.alloc(2 * BLOCK)));
  for (let i = 0; i < trailingMib; i++) parts.push(zeros);
  return Buffer.concat(parts);
}

export type SparseFormat = "gnu" | "posix-0.0" | "posix-0.1" | "posix-1.0";

/** GNU tar's --sparse archive of a 10 MB file (data.img) holding 5 bytes mid-way, in dir. */
export async function gnuSparseTgz(dir: string, format: SparseFormat): Promise<string> {
  const src = join(dir, `sparse-src-${format}`);
  await mkdir(src, { recursive: true });
  const img = join(src, "data.img");
  await writeFile(img, "");
  await truncate(img, 10 * 1000 * 1000);
  const fh = await open(img, "r+");
  try {
    await fh.write(Buffer.from("hello"), 0, 5, 5_000_000);
  } finally {
    await fh.close();
  }
  const out = join(dir, `sparse-${format}.tgz`);
  const fmt = format === "gnu" ? ["--format=gnu"] : ["--format=posix", `--sparse-version=${format.slice("posix-".length)}`];
  execFileSync("tar", ["--sparse", ...fmt, "-czf", out, "-C", src, "data.img"]);
  return out;
}

/**
 * The longest the event loop went without a 10 ms timer firing while fn ran:
 * a stalled loop shows as one long gap.
 */
export async function maxLoopGapMs(fn: () => Promise<unknown>): Promise<{ gapMs: number; error: unknown }> {
  let last = performance.now();
  let max = 0;
  const tick = (): void => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  };
  const timer = setInterval(tick, 10);
  let error: unknown;
  try {
    await fn();
  } catch (err) {
    error = err;
  } finally {
    clearInterval(timer);
    tick();
  }
  return { gapMs: max, error };
}
