/**
 * Indexes for placing thousands of slots at once: the same answer as
 * search/scan.ts, without looking at every host for every slot.
 *
 * Built lazily, once per plan:
 *  - the schedulable hosts (ready, not cordoned) in rank order:
 *    size ascending, then capacity, then ring point, then id;
 *  - per (constraints, spread label), a *group*: the schedulable hosts whose
 *    labels satisfy the constraints, split into one *list* per spread value,
 *    each in that same order (a filter of a sorted array stays sorted);
 *  - within a list, *classes*: runs of hosts with identical capacity, which
 *    either all fit a slot's resources or none do, ordered by ring point;
 *  - per artifact digest, the hosts holding it.
 *
 * A slot then asks, for each spread value from the emptiest up: does a host
 * holding the artifact fit? Otherwise, which class of the smallest size fits,
 * and which of its free hosts comes first clockwise from the slot's ring point?
 * That is one binary search per class, and classes smaller than the slot's
 * need are skipped by another (scorers/tightness.ts promises that a host that
 * fits is never smaller than the need).
 *
 * Occupied hosts are skipped with a union-find "next free position" per list
 * (each lookup compresses the path it walked): a host taken by this plan stays
 * taken, so a run of taken hosts is walked once, not once per slot.
 */
import { constraintsFilter } from "../filters/constraints.js";
import { cordonedFilter } from "../filters/cordoned.js";
import { readyFilter } from "../filters/ready.js";
import { resourcesFilter } from "../filters/resources.js";
import { avoidFilter } from "../filters/avoid.js";
import { rootFilter } from "../filters/root.js";
import type { Fleet } from "../fleet.js";
import { ringDistance } from "../hash.js";
import type { Occupancy } from "../occupancy.js";
import { needSize, serviceRequest, slotRequest, type ServiceRequest, type SlotRequest } from "../request.js";
import { spreadValue, type SpreadCounts } from "../scorers/spread.js";
import { bestPenalized, isPenalized } from "./penalized.js";
import type { HostSearch } from "./search.js";

/** The rules that do not depend on the slot (ready, cordoned) still take one: any will do. */
const PROBE: SlotRequest = slotRequest(
  serviceRequest({ name: "", instances: 0, constraints: {}, spread: "", resources: { cpu: 0, memoryMb: 0, diskMb: 0 }, artifactDigest: "" }),
  0,
  [],
);

/** Numbers compared so that NaN (bad data) sorts last and equals itself: sort needs a total order. */
function cmpNum(a: number, b: number): number {
  if (a === b) return 0;
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : 1;
}

function sameNum(a: number, b: number): boolean {
  return cmpNum(a, b) === 0;
}

/** A found host and how it ranks after spread and artifact: size, ring distance, id. */
interface Found {
  i: number;
  size: number;
  dist: number;
  id: string;
}

function before(a: Found, b: Found | undefined): boolean {
  if (b === undefined) return true;
  if (a.size !== b.size) return a.size < b.size;
  if (a.dist !== b.dist) return a.dist < b.dist;
  return a.id < b.id;
}

/** Schedulable hosts of one spread value that satisfy one set of constraints, in rank order. */
class HostList {
  private readonly hosts: Int32Array;
  private readonly points: Float64Array;
  /** Class c holds positions [classStart[c], classStart[c + 1]). */
  private readonly classStart: Int32Array;
  private readonly classOfPos: Int32Array;
  private readonly classSize: Float64Array;
  /**
   * Union-find over positions: find(p) = first position ≥ p whose host is not
   * taken (hosts.length when none). Allocated on first use.
   */
  private parent: Int32Array | undefined;

  constructor(
    ids: readonly number[],
    private readonly fleet: Fleet,
    private readonly occ: Occupancy,
  ) {
    const n = ids.length;
    this.hosts = Int32Array.from(ids);
    this.points = new Float64Array(n);
    this.classOfPos = new Int32Array(n);
    const starts: number[] = [];
    const sizes: number[] = [];
    for (let p = 0; p < n; p++) {
      const i = ids[p]!;
      this.points[p] = fleet.point(i);
      const cap = fleet.host(i).capacity;
      const prev = p > 0 ? fleet.host(ids[p - 1]!).capacity : undefined;
      if (!prev || !sameNum(cap.cpu, prev.cpu) || !sameNum(cap.memoryMb, prev.memoryMb) || !sameNum(cap.diskMb, prev.diskMb)) {
        starts.push(p);
        sizes.push(fleet.size(i));
      }
      this.classOfPos[p] = starts.length - 1;
    }
    starts.push(n);
    this.classStart = Int32Array.from(starts);
    this.classSize = Float64Array.from(sizes);
  }

  private find(p: number): number {
    const n = this.hosts.length;
    let parent = this.parent;
    if (parent === undefined) {
      parent = new Int32Array(n + 1);
      for (let k = 0; k <= n; k++) parent[k] = k;
      this.parent = parent;
    }
    let r = p;
    for (;;) {
      const up = parent[r]!;
      if (up !== r) {
        r = up;
        continue;
      }
      if (r < n && this.occ.isTaken(this.hosts[r]!)) {
        parent[r] = r + 1;
        r++;
        continue;
      }
      break;
    }
    for (let x = p; x !== r; ) {
      const next = parent[x]!;
      parent[x] = r;
      x = next;
    }
    return r;
  }

  /** Avoided (a hard rule) or penalized (searched last, by search/penalized.ts). */
  private avoided(p: number, req: SlotRequest): boolean {
    const i = this.hosts[p]!;
    return avoidFilter.reject(this.fleet.host(i), i, req, this.occ) !== undefined || isPenalized(this.fleet, i, req);
  }

  /**
   * The free, not avoided host of class c first clockwise from the slot's point, or -1.
   * Positions [i0, end) are at or past the point, in order; [start, i0) come after a wrap.
   */
  private ringFirst(c: number, req: SlotRequest): number {
    const start = this.classStart[c]!;
    const end = this.classStart[c + 1]!;
    let lo = start;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < req.point) lo = mid + 1;
      else hi = mid;
    }
    const i0 = lo;
    for (let p = this.find(i0); p < end; p = this.find(p + 1)) if (!this.avoided(p, req)) return p;
    for (let p = this.find(start); p < i0; p = this.find(p + 1)) if (!this.avoided(p, req)) return p;
    return -1;
  }

  /** The best host of this list for req by (size, ring distance, id), among those that fit it and are free. */
  best(req: SlotRequest, minSize: number): Found | undefined {
    const classes = this.classSize.length;
    let lo = 0;
    let hi = classes;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.classSize[mid]! < minSize) lo = mid + 1;
      else hi = mid;
    }
    let found: Found | undefined;
    for (let c = lo; c < classes; ) {
      // Jump over classes whose hosts are all taken in one step.
      const free = this.find(this.classStart[c]!);
      if (free >= this.hosts.length) break;
      const fc = this.classOfPos[free]!;
      if (fc !== c) {
        c = fc;
        continue;
      }
      const size = this.classSize[c]!;
      // Classes come in size order: once one has given a host, only classes of the same size can still beat it.
      if (found !== undefined && size > found.size) break;
      const rep = this.hosts[free]!;
      if (resourcesFilter.reject(this.fleet.host(rep), rep, req, this.occ) === undefined) {
        const p = this.ringFirst(c, req);
        if (p >= 0) {
          const i = this.hosts[p]!;
          const cand: Found = { i, size, dist: ringDistance(this.points[p]!, req.point), id: this.fleet.host(i).id };
          if (before(cand, found)) found = cand;
        }
      }
      c++;
    }
    return found;
  }
}

/** The hosts satisfying one set of constraints, one list per value of one spread label. */
interface Group {
  readonly values: readonly string[];
  readonly lists: readonly HostList[];
  /** Host index → its value's ordinal, or -1 when the host is not schedulable or fails the constraints. */
  readonly valueOf: Int32Array;
}

export class IndexedSearch implements HostSearch {
  private order: number[] | undefined;
  private readonly groups = new Map<string, Group>();
  private holders: Map<string, number[]> | undefined;

  constructor(
    private readonly fleet: Fleet,
    private readonly occ: Occupancy,
  ) {}

  best(req: SlotRequest, counts: SpreadCounts): number {
    const i = this.bestUnpenalized(req, counts);
    return i >= 0 || req.penalty.size === 0 ? i : bestPenalized(this.fleet, this.occ, req, counts);
  }

  private bestUnpenalized(req: SlotRequest, counts: SpreadCounts): number {
    const group = this.group(req.svc, counts.key);
    const m = group.values.length;
    const minSize = needSize(req.svc, this.fleet.max);
    // Spread values from the fewest instances of the service up; values that tie form a tier.
    const byCount = group.values.map((v, o) => ({ o, count: counts.count(v) })).sort((a, b) => a.count - b.count || a.o - b.o);
    const inTier = new Uint8Array(m);
    for (let t = 0; t < m; ) {
      let u = t;
      while (u < m && byCount[u]!.count === byCount[t]!.count) inTier[byCount[u++]!.o] = 1;
      const held = this.bestHolder(req, group, inTier);
      if (held !== undefined) return held.i;
      let found: Found | undefined;
      for (let k = t; k < u; k++) {
        const cand = group.lists[byCount[k]!.o]!.best(req, minSize);
        if (cand !== undefined && before(cand, found)) found = cand;
      }
      if (found !== undefined) return found.i;
      inTier.fill(0);
      t = u;
    }
    return -1;
  }

  /** Artifact holders are few: checked one by one, they rank before any other host of the tier. */
  private bestHolder(req: SlotRequest, group: Group, inTier: Uint8Array): Found | undefined {
    const digest = req.svc.service.artifactDigest;
    if (digest === "") return undefined;
    let found: Found | undefined;
    for (const i of this.holdersOf(digest)) {
      const o = group.valueOf[i]!;
      if (o < 0 || inTier[o] === 0 || this.occ.isTaken(i)) continue;
      const host = this.fleet.host(i);
      if (resourcesFilter.reject(host, i, req, this.occ) !== undefined) continue;
      if (avoidFilter.reject(host, i, req, this.occ) !== undefined || isPenalized(this.fleet, i, req)) continue;
      const cand: Found = { i, size: this.fleet.size(i), dist: ringDistance(this.fleet.point(i), req.point), id: host.id };
      if (before(cand, found)) found = cand;
    }
    return found;
  }

  private holdersOf(digest: string): readonly number[] {
    if (this.holders === undefined) {
      this.holders = new Map();
      for (let i = 0; i < this.fleet.length; i++) {
        for (const d of new Set(this.fleet.host(i).artifacts)) {
          const list = this.holders.get(d);
          if (list) list.push(i);
          else this.holders.set(d, [i]);
        }
      }
    }
    return this.holders.get(digest) ?? [];
  }

  private schedulable(): readonly number[] {
    if (this.order === undefined) {
      const { fleet, occ } = this;
      const ids: number[] = [];
      for (let i = 0; i < fleet.length; i++) {
        const host = fleet.host(i);
        if (readyFilter.reject(host, i, PROBE, occ) === undefined && cordonedFilter.reject(host, i, PROBE, occ) === undefined) ids.push(i);
      }
      for (const i of ids) fleet.point(i);
      ids.sort((a, b) => {
        const ca = fleet.host(a).capacity;
        const cb = fleet.host(b).capacity;
        const ha = fleet.host(a).id;
        const hb = fleet.host(b).id;
        return (
          fleet.size(a) - fleet.size(b) ||
          cmpNum(ca.cpu, cb.cpu) ||
          cmpNum(ca.memoryMb, cb.memoryMb) ||
          cmpNum(ca.diskMb, cb.diskMb) ||
          fleet.point(a) - fleet.point(b) ||
          (ha < hb ? -1 : ha > hb ? 1 : 0)
        );
      });
      this.order = ids;
    }
    return this.order;
  }

  private group(svc: ServiceRequest, key: string): Group {
    const gk = `${svc.signature}\u0001${key}`;
    const cached = this.groups.get(gk);
    if (cached) return cached;
    const { fleet, occ } = this;
    const probe = slotRequest(svc, 0, []);
    const valueOf = new Int32Array(fleet.length).fill(-1);
    const ordinal = new Map<string, number>();
    const values: string[] = [];
    const members: number[][] = [];
    for (const i of this.schedulable()) {
      const host = fleet.host(i);
      if (rootFilter.reject(host, i, probe, occ) !== undefined || constraintsFilter.reject(host, i, probe, occ) !== undefined) continue;
      const v = spreadValue(host, key);
      let o = ordinal.get(v);
      if (o === undefined) {
        o = values.length;
        ordinal.set(v, o);
        values.push(v);
        members.push([]);
      }
      valueOf[i] = o;
      members[o]!.push(i);
    }
    const group: Group = { values, lists: members.map((ids) => new HostList(ids, fleet, occ)), valueOf };
    this.groups.set(gk, group);
    return group;
  }
}
