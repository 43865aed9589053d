/**
 * Cluster tests run the built CLI (dist/cli/main.js) as real processes. `npm test`
 * builds first; a direct `vitest --project cluster` builds here when dist is
 * missing or older than the sources, so a test never runs stale code.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BERTH_MAIN, ROOT } from "./harness/cluster.js";
import { cleanupLeftovers } from "./harness/topology.js";
import { removeNewServiceCgroups, serviceCgroups } from "./harness/cgroups.js";

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSourceMs(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** The per-service users agents create (berth-<service>): those this run made are removed at its end. */
function serviceUsers(): Set<string> {
  try {
    return new Set(
      execFileSync("getent", ["passwd"], { encoding: "utf8" })
        .split("\n")
        .map((l) => l.split(":")[0] ?? "")
        .filter((n) => n.startsWith("berth-")),
    );
  } catch {
    return new Set();
  }
}

export default async function setup(): Promise<() => void> {
  const usersBefore = serviceUsers();
  const cgroupsBefore = serviceCgroups();
  let built = 0;
  try {
    built = statSync(BERTH_MAIN).mtimeMs;
  } catch {
    built = 0;
  }
  const newest = Math.max(...["cli", "controller", "agent", "shared"].map((d) => newestSourceMs(join(ROOT, d))));
  if (built < newest) execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  await cleanupLeftovers();
  return async () => {
    await removeNewServiceCgroups(cgroupsBefore);
    for (const u of serviceUsers()) {
      if (usersBefore.has(u)) continue;
      try {
        execFileSync("userdel", [u], { stdio: "ignore" });
      } catch {
        // Still in use by a process a failed test left: the next run's setup does not own it.
      }
    }
  };
}
