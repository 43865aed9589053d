import { describe, expect, it } from "vitest";
import { ArchiveGuard, limitsFor, MAX_UNPACKED_BYTES, MIN_UNPACKED_BYTES, safeMode } from "../../../shared/artifact/entry-guard.js";

const MiB = 1024 * 1024;
const file = (path: string, size = 0): { path: string; type: string; size: number } => ({ path, type: "File", size });

describe("limitsFor", () => {
  it("allows 100× the archive, at least 256 MiB and never more than 8 GiB", () => {
    expect(limitsFor(1 * MiB).maxBytes).toBe(MIN_UNPACKED_BYTES);
    expect(limitsFor(10 * MiB).maxBytes).toBe(1000 * MiB);
    expect(limitsFor(2 * 1024 * MiB).maxBytes).toBe(MAX_UNPACKED_BYTES);
  });
});

describe("ArchiveGuard", () => {
  const guard = (): ArchiveGuard => new ArchiveGuard({ maxBytes: 10 * MiB, maxEntries: 100 });

  it("admits files, folders and links that stay inside", () => {
    const g = guard();
    expect(g.entry({ path: "./", type: "Directory", size: 0 })).toBeUndefined();
    expect(g.entry(file("bin/run", 100))).toBeUndefined();
    expect(g.entry({ path: "bin/cfg", type: "SymbolicLink", linkpath: "../conf/app.yaml", size: 0 })).toBeUndefined();
    expect(g.entry({ path: "copy", type: "Link", linkpath: "bin/run", size: 0 })).toBeUndefined();
  });

  it("marks only the entry after a PAX header with GNU.sparse keys as sparse", () => {
    const g = guard();
    g.meta("30 mtime=1796162680.938267975\n");
    expect(g.entry(file("plain"))).toBeUndefined();
    g.meta("22 GNU.sparse.major=1\n28 GNU.sparse.name=data.img\n");
    expect(g.entry(file("GNUSparseFile.1/data.img", 4608))).toEqual({ entry: "GNUSparseFile.1/data.img", reason: expect.stringContaining("sparse file (data.img)") as unknown });
    expect(g.entry(file("after"))).toBeUndefined();
  });

  it("resolves a symlink from its folder and a hard link from the root", () => {
    const g = guard();
    expect(g.entry({ path: "a/b/l", type: "SymbolicLink", linkpath: "../../x", size: 0 })).toBeUndefined();
    expect(g.entry({ path: "a/b/l2", type: "SymbolicLink", linkpath: "../../../x", size: 0 })?.reason).toMatch(/outside the artifact/);
    expect(g.entry({ path: "a/b/h", type: "Link", linkpath: "../x", size: 0 })?.reason).toMatch(/outside the artifact/);
  });

  it("refuses on the header that passes the byte limit, before its contents", () => {
    const g = guard();
    expect(g.entry(file("a", 6 * MiB))).toBeUndefined();
    expect(g.entry(file("b", 5 * MiB))).toEqual({ entry: "b", reason: `(${5 * MiB} bytes) makes the artifact larger than ${10 * MiB} bytes unpacked` });
    expect(g.bytes(10 * MiB)).toBeUndefined();
    expect(g.bytes(10 * MiB + 1)?.reason).toMatch(/expands to more than/);
  });
});

describe("safeMode", () => {
  it("strips setuid, setgid and sticky, keeping the permission bits", () => {
    expect(safeMode(0o4755)).toBe(0o755);
    expect(safeMode(0o3777)).toBe(0o777);
    expect(safeMode(0o640)).toBe(0o640);
  });
});
