#!/usr/bin/env node
/**
 * berth: the command line, as an ES module (the tree is cli/program.ts). The
 * `berth` bin is cli/launcher.sh, which runs this file, or the start-up
 * snapshot built from cli/snapshot.ts where one matches this Node (README,
 * "CLI start-up"); `node dist/cli/main.js …` works everywhere.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { program, runCli } from "./program.js";

export { program };

/** Run as `berth` (directly, or through an npm bin symlink), not imported. */
function invokedAsMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? "") === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedAsMain()) await runCli(process.argv);
