import { readFileSync } from "node:fs";
import { packageRoot, PackageRootError } from "./package-root.js";

/** The package version, read once from package.json (shared/package-root.ts finds it, source, dist or bundle). */
function read(): string {
  try {
    const pkg = JSON.parse(readFileSync(`${packageRoot()}/package.json`, "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" && pkg.version ? pkg.version : "0.0.0";
  } catch (e) {
    if (e instanceof PackageRootError) return "0.0.0";
    throw e;
  }
}

export const VERSION = read();
