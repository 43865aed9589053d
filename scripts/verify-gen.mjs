// Regenerates the proto types into a temporary folder and fails when they differ
// from shared/gen: generated code is never edited by hand (see STYLE.md).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const pkg = JSON.parse(execFileSync("npm", ["pkg", "get", "scripts.gen"], { encoding: "utf8" }));
const out = mkdtempSync(join(tmpdir(), "berth-gen-"));
try {
  // The script is the types (proto-loader-gen-types) && the descriptor (scripts/gen-descriptor.mjs).
  const [types, desc] = pkg.split(" && ");
  const cmd = types.replace("--outDir=shared/gen", `--outDir=${out}`);
  execFileSync("npx", ["--no-install", ...cmd.split(" ")], { stdio: ["ignore", "ignore", "inherit"] });
  const [node, script] = desc.split(" ");
  execFileSync(node, [script, out], { stdio: ["ignore", "ignore", "inherit"] });
  execFileSync("diff", ["-r", out, "shared/gen"], { stdio: "inherit" });
  console.log("shared/gen matches proto/");
} catch {
  console.error("shared/gen is out of date with proto/: run `npm run gen` and commit the result");
  process.exitCode = 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
