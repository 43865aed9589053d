/**
 * Artifacts as deterministic tar.gz files. The controller stores an artifact by the
 * sha256 of its .tgz and the scheduler, the cache and rollouts all key on that
 * digest, so packing the same content twice must give the same bytes: otherwise
 * `berth apply` of an unchanged folder would look like a new version and roll the
 * fleet for nothing.
 *
 * What makes the bytes depend on content only:
 * - entries are listed by us, depth first, names sorted by code unit (readdir order
 *   differs between filesystems and runs), and node-tar is told not to recurse;
 * - `portable`: no uid/gid/uname/gname/atime/ctime/dev/ino, modes normalized
 *   (owner rw added, group/other write removed; the executable bits are kept);
 * - `noMtime`: no timestamps at all, so touching or re-checking-out a file does
 *   not change the digest;
 * - gzip at a fixed level, with the header's "OS" byte set to 255 (unknown): zlib
 *   writes the platform there (3 on Linux, 19 on macOS), which would make a Mac
 *   and a Linux operator produce different digests for the same folder.
 * Node bundles its own zlib, so the deflate stream itself is the same wherever the
 * same Node major runs; a different zlib build could still compress differently
 * (then the digest changes once and the artifact is simply uploaded again).
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import { create as tarCreate } from "tar";

/** The packing was refused: the tree holds something an artifact cannot carry safely. */
export class PackError extends Error {
  override name = "PackError";
  constructor(
    message: string,
    /** the offending path, relative to the packed folder */
    readonly entry: string,
  ) {
    super(message);
  }
}

export interface PackedArtifact {
  /** lowercase hex sha256 of the .tgz */
  sha256: string;
  bytes: number;
  /** a fresh file in the OS temp dir; the caller moves or removes it */
  file: string;
}

/** Fixed so the deflate output does not depend on a library default. */
const GZIP_LEVEL = 9;
/** RFC 1952: offset of the OS byte in the gzip header, and its "unknown" value. */
const GZIP_OS_OFFSET = 9;
const GZIP_OS_UNKNOWN = 255;

/**
 * Packs a folder (its contents at the archive root) or a single file (that file at
 * the archive root, mode kept) into a deterministic .tgz in the OS temp dir.
 */
export async function packArtifact(path: string, opts: { outDir?: string } = {}): Promise<PackedArtifact> {
  const st = await lstat(path);
  let cwd: string;
  let entries: string[];
  if (st.isDirectory()) {
    cwd = path;
    entries = await listTree(path);
  } else if (st.isFile()) {
    cwd = dirname(path);
    entries = [basename(path)];
  } else {
    throw new PackError(`${path}: an artifact is a regular file or a folder`, basename(path));
  }
  const file = join(opts.outDir ?? tmpdir(), `berth-artifact-${randomUUID()}.tgz`);
  // An empty folder still packs to a valid archive: its root entry.
  const list = entries.length > 0 ? entries : ["."];
  await tarCreate(
    {
      file,
      cwd,
      gzip: { level: GZIP_LEVEL },
      portable: true,
      noMtime: true,
      noDirRecurse: true,
      // An unreadable file must fail the pack, not silently drop out of the artifact.
      strict: true,
    },
    list,
  );
  await setGzipOsByte(file);
  const { sha256, bytes } = await sha256File(file);
  return { sha256, bytes, file };
}

/**
 * Every entry below root, relative, parents before children, siblings sorted.
 * Symlinks are kept as links but must stay inside the tree: the agent refuses
 * absolute or escaping link targets on unpack, so refusing them here turns a
 * failure on every host into one clear error at apply time.
 */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === "" ? root : join(root, rel))).sort(byCodeUnit);
    for (const name of names) {
      const child = rel === "" ? name : `${rel}/${name}`;
      const st = await lstat(join(root, child));
      if (st.isDirectory()) {
        out.push(child);
        await walk(child);
      } else if (st.isFile()) {
        out.push(child);
      } else if (st.isSymbolicLink()) {
        const target = await readlink(join(root, child));
        const resolved = posix.normalize(posix.join(posix.dirname(child), target));
        if (posix.isAbsolute(target) || resolved === ".." || resolved.startsWith("../")) {
          throw new PackError(`${child}: symlink to ${target} points outside the artifact`, child);
        }
        out.push(child);
      } else {
        throw new PackError(`${child}: sockets, fifos and devices cannot be packed`, child);
      }
    }
  };
  await walk("");
  return out;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function setGzipOsByte(file: string): Promise<void> {
  const fh = await open(file, "r+");
  try {
    await fh.write(Uint8Array.of(GZIP_OS_UNKNOWN), 0, 1, GZIP_OS_OFFSET);
  } finally {
    await fh.close();
  }
}

/** Streams a file through sha256. */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    hash.update(buf);
    bytes += buf.length;
  }
  return { sha256: hash.digest("hex"), bytes };
}
