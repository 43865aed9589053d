/**
 * A --import preload for tests: appends the URL of every module the ESM loader
 * loads (ESM and the CommonJS entry of each package imported from ESM) to the
 * file named by BERTH_TEST_MODULES_OUT, one per line. It is how
 * cli-modules.test.ts sees what a command really loads.
 */
import { register } from "node:module";

const out = process.env.BERTH_TEST_MODULES_OUT;
if (out) {
  const hooks = `
import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(out)}, url + "\\n");
  return next(url, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
