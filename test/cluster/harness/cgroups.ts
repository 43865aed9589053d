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
 * one with a member: left alone).
 */
export function removeNewServiceCgroups(before: Set<string>): void {
  for (const dir of serviceCgroups()) {
    if (before.has(dir)) continue;
    try {
      if (Date.now() - statSync(dir).mtimeMs < SETTLED_MS) continue;
      rmdirSync(dir);
    } catch {
      // A member still runs (a process a failed test left): not ours to end here.
    }
  }
}
