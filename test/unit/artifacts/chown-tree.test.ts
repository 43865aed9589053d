/**
 * Handing a tree to a service's user never hands over what a symlink in it names:
 * an artifact or working dir holding `escape -> /etc` must not give /etc's files away.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, rm, stat, symlink, writeFile, lstat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chownTree } from "../../../agent/artifacts/cache.js";

const root = process.getuid?.() === 0;

describe("chownTree", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!root)("changes the tree and its links themselves, never a directory or file reached through a link", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-chown-"));
    const outside = join(dir, "outside");
    await mkdir(join(outside, "deep"), { recursive: true });
    await writeFile(join(outside, "victim"), "root's");
    await writeFile(join(outside, "deep", "victim2"), "root's");
    const tree = join(dir, "tree");
    await mkdir(join(tree, "sub"), { recursive: true });
    await writeFile(join(tree, "sub", "mine"), "x");
    await symlink(outside, join(tree, "escape"));
    await symlink(join(outside, "victim"), join(tree, "sub", "file-link"));
    await chownTree(tree, 4242, 4242);
    for (const p of [tree, join(tree, "sub"), join(tree, "sub", "mine")]) expect((await stat(p)).uid, p).toBe(4242);
    expect((await lstat(join(tree, "escape"))).uid).toBe(4242);
    expect((await lstat(join(tree, "sub", "file-link"))).uid).toBe(4242);
    for (const p of [outside, join(outside, "victim"), join(outside, "deep"), join(outside, "deep", "victim2")]) expect((await stat(p)).uid, p).toBe(0);
  });
});
