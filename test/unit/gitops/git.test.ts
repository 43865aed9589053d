/** The git shell (controller/gitops/git.ts) on its own: what it leaves on disk. */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitError, Mirror } from "../../../controller/gitops/git.js";

describe("Mirror", () => {
  let root = "";
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("removes a deploy key, known_hosts or CA file a crash mid-fetch left behind, at the next fetch", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-mirror-"));
    const m = new Mirror(root, "src");
    // A first fetch makes the mirror (nothing listens on port 1: it fails at once).
    await expect(m.fetch("http://127.0.0.1:1/x.git", "main", { kind: "none" })).rejects.toBeInstanceOf(GitError);
    for (const f of [".deploy-key-0123456789ab", ".known-hosts-0123456789ab", ".ca-0123456789ab"]) await writeFile(join(m.dir, f), "left by a crash", { mode: 0o600 });
    await expect(m.fetch("http://127.0.0.1:1/x.git", "main", { kind: "none" })).rejects.toBeInstanceOf(GitError);
    expect((await readdir(m.dir)).filter((f) => f.startsWith("."))).toEqual([]);
  });
});
