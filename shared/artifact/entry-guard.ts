/**
 * What an artifact archive may hold, decided entry by entry from the tar headers
 * alone (no I/O), so the agent's unpack and the controller's upload check refuse
 * exactly the same archives.
 *
 * An artifact is unpacked into a folder that services run from; anything that
 * cannot be reproduced there exactly as the archive says, or that would reach
 * outside that folder, fails the whole archive with the entry named — a tree that
 * is silently different from the one packed would pass for healthy.
 * - sparse files (old GNU type "S", or PAX GNU.sparse.* headers): node-tar drops
 *   the first silently and writes the others as files holding only the condensed
 *   data (for PAX 0.1 and 1.0 under a made-up GNUSparseFile.<pid>/ path);
 * - devices and FIFOs: nothing a service folder needs, and not ours to create;
 * - absolute paths, ".." components, hard links or symlinks leading out;
 * - any other entry type node-tar would skip;
 * - more bytes or entries than the limits: a small archive that expands to fill
 *   the disk (a "zip bomb").
 * setuid, setgid and sticky bits are not refused but stripped (see safeMode).
 */
import { posix } from "node:path";

export interface ArchiveLimits {
  /** Largest total of the decompressed tar stream (contents and headers). */
  maxBytes: number;
  /** Most entries (files, folders, links). */
  maxEntries: number;
}

/** Hard ceiling on what one artifact may unpack to. @default 8 GiB */
export const MAX_UNPACKED_BYTES = 8 * 1024 ** 3;
/** An archive may always unpack to this much, however small it is. @default 256 MiB */
export const MIN_UNPACKED_BYTES = 256 * 1024 ** 2;
/**
 * How many times its own size an archive may expand to beyond MIN_UNPACKED_BYTES.
 * Source trees and binaries compress 2–10×; 100× is only reached by zero-filled
 * data, which is what a decompression bomb is made of.
 */
export const MAX_EXPANSION_RATIO = 100;
/** @default 1,000,000 */
export const MAX_ENTRIES = 1_000_000;

/** The limits for an archive of archiveBytes bytes: see the constants above. */
export function limitsFor(archiveBytes: number): ArchiveLimits {
  return {
    maxBytes: Math.min(MAX_UNPACKED_BYTES, Math.max(MIN_UNPACKED_BYTES, archiveBytes * MAX_EXPANSION_RATIO)),
    maxEntries: MAX_ENTRIES,
  };
}

/** The header fields the decisions need (node-tar's ReadEntry has them all). */
export interface EntryHeader {
  path: string;
  type: string;
  linkpath?: string | undefined;
  size: number;
}

/** A refusal: the entry it is about ("" for the archive as a whole) and why. */
export interface Refusal {
  entry: string;
  reason: string;
}

/** Entry types unpacked as they are; every other type is refused. */
const KEPT_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "GNUDumpDir", "SymbolicLink", "Link"]);

/** PAX keys GNU tar writes for sparse files, versions 0.0, 0.1 and 1.0. */
const GNU_SPARSE_KEY = /(^|\n)\d+ GNU\.sparse\./;
const GNU_SPARSE_NAME = /(?:^|\n)\d+ GNU\.sparse\.name=([^\n]*)/;

/**
 * Decides one archive, header by header, in archive order. Feed it every PAX
 * header body (meta), every entry (entry) and the decompressed byte count as it
 * grows (bytes); the first refusal is the archive's.
 */
export class ArchiveGuard {
  private entries = 0;
  private declaredBytes = 0;
  /** The pending PAX header said the next entry is sparse; its real name if given. */
  private sparseNext: { name: string } | undefined;

  constructor(readonly limits: ArchiveLimits) {}

  /** A PAX extended header's body, which applies to the entry after it. */
  meta(body: string): void {
    if (GNU_SPARSE_KEY.test(body)) this.sparseNext = { name: GNU_SPARSE_NAME.exec(body)?.[1] ?? "" };
  }

  entry(e: EntryHeader): Refusal | undefined {
    const sparse = this.sparseNext;
    this.sparseNext = undefined;
    const at = (reason: string): Refusal => ({ entry: e.path, reason });
    if (sparse !== undefined || e.type === "SparseFile") {
      const real = sparse?.name ? ` (${sparse.name})` : "";
      return at(`is a sparse file${real}, which cannot be unpacked faithfully; pack it without --sparse`);
    }
    if (e.type === "CharacterDevice" || e.type === "BlockDevice") return at("is a device node; an artifact holds files, folders and links only");
    if (e.type === "FIFO") return at("is a FIFO; an artifact holds files, folders and links only");
    if (!KEPT_TYPES.has(e.type)) return at(`has entry type ${e.type}, which cannot be unpacked`);
    const bad = pathProblem(e.path);
    if (bad !== undefined) return at(bad);
    if (e.type === "Link" || e.type === "SymbolicLink") {
      const target = e.linkpath ?? "";
      const kind = e.type === "Link" ? "hard link" : "symlink";
      if (target === "") return at(`is a ${kind} without a target`);
      // A hard link's target is named from the archive root, a symlink's from its folder.
      const from = e.type === "Link" ? "" : posix.dirname(e.path);
      const resolved = posix.normalize(posix.join(from, target));
      if (posix.isAbsolute(target) || resolved === ".." || resolved.startsWith("../")) {
        return at(`is a ${kind} to ${target}, outside the artifact`);
      }
      if (e.type === "Link" && target.split("/").includes("..")) return at(`is a hard link to ${target}, whose path contains '..'`);
    }
    this.entries++;
    if (this.entries > this.limits.maxEntries) return at(`is past the limit of ${this.limits.maxEntries} entries`);
    this.declaredBytes += e.size;
    // Refused on the header, before its contents are decompressed at all.
    if (this.declaredBytes > this.limits.maxBytes) return at(`(${e.size} bytes) makes the artifact larger than ${this.limits.maxBytes} bytes unpacked`);
    return undefined;
  }

  /** The decompressed stream has reached total bytes (headers, padding and trailing data count). */
  bytes(total: number): Refusal | undefined {
    if (total > this.limits.maxBytes) return { entry: "", reason: `the archive expands to more than ${this.limits.maxBytes} bytes` };
    return undefined;
  }
}

function pathProblem(p: string): string | undefined {
  if (p === "") return "has an empty path";
  if (p.includes("\0")) return "has a NUL byte in its path";
  if (posix.isAbsolute(p)) return "has an absolute path";
  if (p.split("/").includes("..")) return "has '..' in its path";
  return undefined;
}

/**
 * The mode to create an entry with: setuid, setgid and sticky bits removed. An
 * artifact comes from an operator's build folder; a setuid-root binary appearing
 * on every host because the agent unpacks as root is never what was meant.
 */
export function safeMode(mode: number): number {
  return mode & 0o777;
}
