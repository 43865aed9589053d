/** A checkout's tree as the GitOps runner reads it (controller/gitops/tree.ts): errors name the repository's paths, never the controller's. */
import { afterEach, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSourceTree } from "../../../controller/gitops/tree.js";

describe("loadSourceTree", () => {
  let root = "";
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("a path that is not in the repository is named as the repository's, without the checkout's folder", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-tree-"));
    await mkdir(join(root, "fleet"));
    await writeFile(join(root, "fleet", "web.yaml"), "name: web\nrun: { command: x }\n");
    const t = await loadSourceTree(root, "nope", "");
    expect(t.errors.length).toBeGreaterThan(0);
    for (const e of t.errors) expect(e).not.toContain(root);
    expect(t.errors.join("\n")).toContain("nope");
  });
});
