/**
 * The snapshot's hosts as the scheduler reads them: by index, with the keys
 * the ranker needs computed on first use. The reconcile loop's usual question
 * (one lost instance) touches a few hosts by id and scans the rest once, so
 * nothing here costs O(hosts) up front beyond one pass for the fleet maximum.
 */
import { hostPoint } from "./hash.js";
import { fleetMax, sizeKey, type Resources } from "./scorers/tightness.js";
import type { SchedHost } from "./types.js";

/** Lookups by id answered by a scan before a map of all ids is worth building. */
const SCANNED_LOOKUPS = 16;

export class Fleet {
  readonly max: Resources;
  private byId: Map<string, number> | undefined;
  private lookups = 0;
  private sizes: Float64Array | undefined;
  private points: Float64Array | undefined;

  constructor(readonly hosts: readonly SchedHost[]) {
    this.max = fleetMax(hosts);
  }

  get length(): number {
    return this.hosts.length;
  }

  host(i: number): SchedHost {
    return this.hosts[i]!;
  }

  /** Index of the host with this id (the first, if bad input lists it twice), or -1 if unknown. */
  indexOf(id: string): number {
    if (this.byId === undefined && ++this.lookups <= SCANNED_LOOKUPS) return this.hosts.findIndex((h) => h.id === id);
    if (this.byId === undefined) {
      this.byId = new Map();
      for (let i = this.hosts.length - 1; i >= 0; i--) this.byId.set(this.hosts[i]!.id, i);
    }
    return this.byId.get(id) ?? -1;
  }

  /** scorers/tightness.ts sizeKey, cached. */
  size(i: number): number {
    // NaN = not computed yet; a size never is NaN.
    this.sizes ??= new Float64Array(this.hosts.length).fill(Number.NaN);
    let s = this.sizes[i]!;
    if (Number.isNaN(s)) {
      s = sizeKey(this.hosts[i]!.capacity, this.max);
      this.sizes[i] = s;
    }
    return s;
  }

  /** hash.ts hostPoint, cached. */
  point(i: number): number {
    this.points ??= new Float64Array(this.hosts.length).fill(Number.NaN);
    let p = this.points[i]!;
    if (Number.isNaN(p)) {
      p = hostPoint(this.hosts[i]!.id);
      this.points[i] = p;
    }
    return p;
  }
}
