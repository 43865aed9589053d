/**
 * The cgroups agents make for services (agent/supervisor/cgroup.ts: berth/<instance>-<tag>,
 * one per run, limits or not). An agent removes its run's cgroup when it stops the run; a
 * service a test killed itself (a fleet's teardown, an agent killed mid-test) leaves it
 * behind, empty. A test run removes, at its end, the empty ones that appeared during it,
 * as it does the service users (global-setup.ts).
 */
import { readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_CGROUP_ROOT } from "../../../agent/supervisor/cgroup.js";

/** Where berth's cgroups live: v2's berth/, or v1's cpu/berth/ and memory/berth/. */
const PARENTS = ["berth", "cpu/berth", "memory/berth"].map((p) => join(DEFAULT_CGROUP_ROOT, p));

/** Every service cgroup now present. */
export function serviceCgroups(): Set<string> {
  const found = new Set<string>();
  for (const parent of PARENTS) {
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

/** Removes the service cgroups not in `before` that are empty (rmdir fails on one with a member: left alone). */
export function removeNewServiceCgroups(before: Set<string>): void {
  for (const dir of serviceCgroups()) {
    if (before.has(dir)) continue;
    try {
      rmdirSync(dir);
    } catch {
      // A member still runs (a process a failed test left): not ours to end here.
    }
  }
}
