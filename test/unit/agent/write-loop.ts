// A writer to kill -9 mid-write (instance-file.test.ts): rewrites one state file
// in a loop, alternating two large versions, and says "wrote N" after each.
// argv: file, "atomic" (shared/state-file.ts) or "inplace" (writeFileSync, the old way: for comparison by hand).
import { writeFileSync } from "node:fs";
import { writeFileAtomicSync } from "../../../shared/state-file.js";

const [file, how] = process.argv.slice(2) as [string, string];
const versions = ["a", "b"].map((v) => JSON.stringify({ v, pad: v.repeat(4 * 1024 * 1024) }));
for (let n = 0; ; n++) {
  const data = versions[n % 2]!;
  if (how === "inplace") writeFileSync(file, data);
  else writeFileAtomicSync(file, data);
  process.stdout.write(`wrote ${n}\n`);
}
