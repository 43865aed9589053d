import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** argv that runs this berth again (node + dist/cli/main.js), for the processes `berth dev` starts. */
export function berthCommand(): string[] {
  const main = realpathSync(join(dirname(fileURLToPath(import.meta.url)), "main.js"));
  return [process.execPath, main];
}
