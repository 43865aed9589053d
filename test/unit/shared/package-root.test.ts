import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { builtFile, packageRoot, PackageRootError } from "../../../shared/package-root.js";

describe("packageRoot", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** A fake install: package.json named berth at the top, a module `rel` below it. */
  function install(rel: string, name = "berth"): string {
    dir = mkdtempSync(join(tmpdir(), "berth-root-"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name, version: "1.2.3" }));
    const file = join(dir, rel);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, "");
    return pathToFileURL(file).href;
  }

  it("is found from the bundled CLI's chunks (dist/cli/bundle/), tsc's output and the sources alike", () => {
    for (const rel of ["dist/cli/bundle/chunk-X.js", "dist/agent/supervisor/fence-lease.js", "shared/version.ts"]) {
      const url = install(rel);
      expect(packageRoot(url)).toBe(dir);
      expect(builtFile("dist/cli/main.js", url)).toBe(join(dir!, "dist/cli/main.js"));
      rmSync(dir!, { recursive: true, force: true });
    }
  });

  it("skips another package's package.json on the way up", () => {
    const url = install("dist/cli/bundle/chunk-X.js");
    writeFileSync(join(dir!, "dist", "package.json"), JSON.stringify({ name: "something-else" }));
    expect(packageRoot(url)).toBe(dir);
  });

  it("says so when no berth package is above the module", () => {
    const url = install("a/b/c.js", "not-berth");
    expect(() => packageRoot(url)).toThrow(PackageRootError);
  });
});
