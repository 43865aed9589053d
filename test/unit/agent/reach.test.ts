/**
 * A service's user must reach its working dir: every folder above it passable
 * (x) by that uid/gid, the dir itself readable and passable. The agent checks
 * before it starts anything and names the folder that blocks and the fix — not
 * the service's own error ("Cannot find module") after the start. Real dirs and
 * the real user nobody (the agent is root in these tests, as it is on a host).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { promisify } from "node:util";
import os from "node:os";
import path from "node:path";
import { blockedAt, checkReach, UnreachableDirError, type DirMode } from "../../../agent/runas/reach.js";
import { resolveUser } from "../../../agent/supervisor/proc.js";

const dirMode = (p: string, mode: number, uid = 0, gid = 0): DirMode => ({ path: p, mode, uid, gid });
const WHO = { uid: 1001, gid: 1001 };

describe("blockedAt", () => {
  it("names the first folder the user cannot pass, and the class of bits that would let it", () => {
    const chain = [dirMode("/", 0o755), dirMode("/root", 0o700), dirMode("/root/b", 0o755), dirMode("/root/b/w", 0o700, 1001, 1001)];
    expect(blockedAt(chain, WHO)).toEqual({ dir: chain[1], need: "o+x" });
    expect(blockedAt([dirMode("/", 0o755), dirMode("/root", 0o711), chain[2]!, chain[3]!], WHO)).toBeUndefined();
  });

  it("goes by the owner's bits for the owner and the group's for the group, as the kernel does", () => {
    const w = dirMode("/d/w", 0o755);
    // Owned by the user but u-x: others' bits do not help it.
    expect(blockedAt([dirMode("/d", 0o071, 1001, 0), w], WHO)).toEqual({ dir: dirMode("/d", 0o071, 1001, 0), need: "u+x" });
    expect(blockedAt([dirMode("/d", 0o701, 0, 1001), w], WHO)).toEqual({ dir: dirMode("/d", 0o701, 0, 1001), need: "g+x" });
    expect(blockedAt([dirMode("/d", 0o710, 0, 1001), w], WHO)).toBeUndefined();
  });

  it("needs the working dir itself readable as well", () => {
    const chain = [dirMode("/", 0o755), dirMode("/w", 0o711)];
    expect(blockedAt(chain, WHO)).toEqual({ dir: chain[1], need: "o+rx" });
  });

  it("root passes everything", () => {
    expect(blockedAt([dirMode("/root", 0o700, 5, 5)], { uid: 0, gid: 0 })).toBeUndefined();
  });
});

describe.skipIf(process.getuid?.() !== 0)("checkReach, on real folders as the real user nobody", () => {
  let top = "";
  beforeEach(async () => {
    top = await mkdtemp(path.join(os.tmpdir(), "berth-reach-"));
    await chmod(top, 0o755);
  });
  afterEach(async () => {
    await rm(top, { recursive: true, force: true });
  });
  const nobody = resolveUser("nobody");
  /** What the kernel says: can nobody list the dir? */
  const canList = async (dir: string): Promise<boolean> =>
    promisify(execFile)("ls", [dir], { uid: nobody.uid, gid: nobody.gid }).then(
      () => true,
      () => false,
    );

  it("refuses a working dir below a 0700 folder, naming it and the fix; passes once it is o+x, as the kernel does", async () => {
    const locked = path.join(top, "root");
    const work = path.join(locked, "data", "instances", "web-0");
    await mkdir(work, { recursive: true });
    await chmod(locked, 0o700);
    await chown(work, nobody.uid, nobody.gid);
    expect(await canList(work)).toBe(false);
    const err = await checkReach(work, { user: "nobody", ...nobody }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableDirError);
    expect((err as Error).message).toBe(
      `user nobody (uid ${nobody.uid}) cannot reach its working dir ${work}: ${locked} (mode 0700, owner root) does not let it through; run chmod o+x ${locked} on this host, or give the agent a data dir outside it (--data-dir, or dataDir in agent.yaml)`,
    );
    await chmod(locked, 0o711);
    expect(await canList(work)).toBe(true);
    await expect(checkReach(work, { user: "nobody", ...nobody })).resolves.toBeUndefined();
  });
});
