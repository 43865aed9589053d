/**
 * Where berth's own files are, from any of its modules: the package root is the
 * nearest folder above with berth's package.json. A module cannot say where it
 * sits relative to the others by its own path: the same code runs from the
 * sources (tsx), from tsc's output (dist/<area>/…) and from the bundled CLI
 * (dist/cli/main.js and its chunks in dist/cli/bundle/, scripts/bundle-cli.mjs).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Folders looked through above a module: the deepest is dist/agent/supervisor/. */
const MAX_DEPTH = 6;

export class PackageRootError extends Error {
  constructor(from: string) {
    super(`no berth package.json above ${from}`);
    this.name = "PackageRootError";
  }
}

const found = new Map<string, string>();

/** The package's root folder, looked up from `from` (a module's URL; this module's by default). */
export function packageRoot(from: string = import.meta.url): string {
  const start = dirname(fileURLToPath(from));
  const known = found.get(start);
  if (known !== undefined) return known;
  let dir = start;
  for (let i = 0; i < MAX_DEPTH; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
      if (pkg.name === "berth") {
        found.set(start, dir);
        return dir;
      }
    } catch {
      // none here, or not JSON: look one folder up
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new PackageRootError(fileURLToPath(from));
}

/** A file of the package by its path from the root ("dist/cli/main.js"). */
export function builtFile(rel: string, from?: string): string {
  return join(packageRoot(from), rel);
}
