/**
 * The cgroups agents make for services (agent/supervisor/cgroup.ts: berth/<instance>-<tag>,
 * one per run, limits or not). An agent removes its run's cgroup when it stops the run; a
 * service a test killed itself (a fleet's teardown, an agent killed mid-test) leaves it
 * behind, empty. A test run removes, at its end, the empty ones that appeared during it,
 * as it does the service users (global-setup.ts).
 */
import { existsSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { cgroupDirs, chooseLayout, DEFAULT_CGROUP_ROOT } from "../../../agent/supervisor/cgroup.js";

/** Where the agent puts its cgroups on this host (v2's berth/, or v1's cpu/berth/ and memory/berth/), as it chooses them. */
function parents(): string[] {
  const layout = chooseLayout(DEFAULT_CGROUP_ROOT, "any", existsSync);
  return layout.kind === "none" ? [] : cgroupDirs(layout).map(dirname);
}

/** Every service cgroup now present. */
export function serviceCgroups(): Set<string> {
  const found = new Set<string>();
  for (const parent of parents()) {
    let entries;
    try {
      entries = readdirSync(parent, { withFileTypes: true });
    } catch {
      continue; // no such hierarchy here
    }
    for (const e of entries) if (e.isDirectory()) found.add(join(parent, e.name));
  }
  return found;
}

/**
 * A cgroup is made empty and joined a moment later (supervisor.ts): one younger than this
 * may be another agent's, about to be joined, on a machine shared with other runs.
 */
const SETTLED_MS = 1_000;

/**
 * Removes the service cgroups not in `before` that are empty and settled (rmdir fails on
 * one with a member: left alone). One younger than SETTLED_MS is waited for until it has
 * settled, once: the last test's service, stopped in the run's last second, left one that
 * a sweep passing over the young stayed blind to.
 */
export async function removeNewServiceCgroups(before: Set<string>): Promise<void> {
  const fresh = [...serviceCgroups()].filter((dir) => !before.has(dir));
  const youngest = Math.max(0, ...fresh.map((dir) => ageMs(dir)).filter((a) => a < SETTLED_MS).map((a) => SETTLED_MS - a));
  if (youngest > 0) await new Promise((resolve) => setTimeout(resolve, youngest + 50));
  for (const dir of fresh) {
    try {
      if (ageMs(dir) < SETTLED_MS) continue;
      rmdirSync(dir);
    } catch {
      // A member still runs (a process a failed test left): not ours to end here.
    }
  }
}

/** How long ago the cgroup was made (its folder's mtime); Infinity when it is gone. */
function ageMs(dir: string): number {
  try {
    return Date.now() - statSync(dir).mtimeMs;
  } catch {
    return Infinity;
  }
}
