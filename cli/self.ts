import { realpathSync } from "node:fs";
import { builtFile } from "../shared/package-root.js";

/** This berth's dist/cli/main.js, symlinks resolved: what runs berth again (dev's processes, installed units). */
export function berthMain(): string {
  return realpathSync(builtFile("dist/cli/main.js"));
}

/** argv that runs this berth again (node + dist/cli/main.js), for the processes `berth dev` starts. */
export function berthCommand(): string[] {
  return [process.execPath, berthMain()];
}
