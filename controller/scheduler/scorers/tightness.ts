/**
 * Soft rule, weakest: prefer the smallest host that fits, so that big hosts
 * stay spare for big services. With one service per host there is nothing to
 * bin-pack on a host; what we pack is the fleet.
 *
 * A host's size is the mean of its capacities, each as a fraction of the
 * largest in the fleet; tightness is one minus the part of that size the slot
 * leaves unused.
 *
 * Worked example, fleet max {cpu 64, memoryMb 262144, diskMb 4000000}:
 *   host {16, 65536, 1000000} → size (0.25 + 0.25 + 0.25) / 3 = 0.25
 *   need {2, 4096, 0}         → size (0.03125 + 0.015625 + 0) / 3 = 0.015625
 *   tightness = 1 - (0.25 - 0.015625) = 0.765625
 *   the fleet's biggest host (size 1) scores 1 - (1 - 0.015625) = 0.015625.
 *
 * For one slot the need is the same for every host, so ranking by tightness
 * is ranking by `sizeKey` ascending: rank.ts compares sizes, exactly, and
 * `tightness` exists for explanations and tests.
 */
import type { SchedHost } from "../types.js";

export type Resources = SchedHost["capacity"];

/**
 * x as a share of max, in [0, 1]. A dimension no host has (max 0) cannot tell
 * hosts apart. Bad data (negative, NaN) counts as none, like a need of 0 or NaN
 * is no need (filters/resources.ts); an infinite one as all. The share only
 * grows with x, so a host that fits a need never has a smaller key than the
 * need: search/indexed.ts skips hosts smaller than the need on that promise.
 */
function part(x: number, max: number): number {
  if (!(x > 0) || !(max > 0)) return 0;
  const share = x / max;
  return share < 1 ? share : 1; // Infinity / Infinity is NaN: count it as all
}

/** In [0, 1] for any capacity within the fleet's maxima. */
export function sizeKey(r: Resources, fleetMax: Resources): number {
  return (part(r.cpu, fleetMax.cpu) + part(r.memoryMb, fleetMax.memoryMb) + part(r.diskMb, fleetMax.diskMb)) / 3;
}

/** In [0, 1] for a host that fits `need`; higher is tighter. */
export function tightness(capacity: Resources, need: Resources, fleetMax: Resources): number {
  return 1 - (sizeKey(capacity, fleetMax) - sizeKey(need, fleetMax));
}

/** The largest capacity of each kind in the fleet (0 where no host has any). */
export function fleetMax(hosts: readonly SchedHost[]): Resources {
  let cpu = 0;
  let memoryMb = 0;
  let diskMb = 0;
  // Comparisons rather than Math.max: one host's NaN must not poison the fleet's maximum.
  for (const h of hosts) {
    if (h.capacity.cpu > cpu) cpu = h.capacity.cpu;
    if (h.capacity.memoryMb > memoryMb) memoryMb = h.capacity.memoryMb;
    if (h.capacity.diskMb > diskMb) diskMb = h.capacity.diskMb;
  }
  return { cpu, memoryMb, diskMb };
}
