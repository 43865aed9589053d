/**
 * Builders, an independent oracle for the hard rules, plan application, and
 * fast-check arbitraries for generated fleets. The oracle is written apart from
 * controller/scheduler/filters on purpose: a property checked with the code
 * under test would only check that the code agrees with itself.
 */
import fc from "fast-check";
import { Fleet } from "../../../controller/scheduler/fleet.js";
import { Occupancy } from "../../../controller/scheduler/occupancy.js";
import { serviceRequest, slotRequest, type SlotRequest } from "../../../controller/scheduler/request.js";
import type { Plan, SchedHost, SchedInstance, SchedService, Snapshot } from "../../../controller/scheduler/types.js";

export function host(id: string, o: Partial<SchedHost> = {}): SchedHost {
  return {
    id,
    ready: true,
    cordoned: false,
    labels: {},
    capacity: { cpu: 8, memoryMb: 16384, diskMb: 100_000 },
    artifacts: [],
    ...o,
  };
}

export function service(name: string, o: Partial<SchedService> = {}): SchedService {
  return {
    name,
    instances: 1,
    constraints: {},
    spread: "",
    resources: { cpu: 1, memoryMb: 512, diskMb: 0 },
    artifactDigest: "",
    ...o,
  };
}

export function inst(svc: string, slot: number, hostId: string, o: Partial<SchedInstance> = {}): SchedInstance {
  return { service: svc, slot, hostId, pinnedHost: "", avoidHosts: [], ...o };
}

export function snap(hosts: SchedHost[], services: SchedService[], instances: SchedInstance[] = []): Snapshot {
  return { hosts, services, instances, nowMs: 0 };
}

/** A request for one slot of s, as the scheduler builds it. */
export function reqFor(s: SchedService, slot = 0, avoid: readonly string[] = []): SlotRequest {
  return slotRequest(serviceRequest(s), slot, avoid);
}

/** Occupancy of `hosts` where `running` maps host id → the instance running there ("svc-0"). */
export function occFor(hosts: readonly SchedHost[], running: Record<string, string> = {}): Occupancy {
  const ids = new Set(Object.keys(running));
  return new Occupancy(new Fleet(hosts), ids, (id) => {
    const name = running[id];
    if (name === undefined) return undefined;
    const cut = name.lastIndexOf("-");
    return { service: name.slice(0, cut), slot: Number(name.slice(cut + 1)) };
  });
}

// ---- oracle -------------------------------------------------------------------------

/** Labels and resources only: what a spec change can break. */
export function satisfies(h: SchedHost, s: SchedService): boolean {
  if (s.root === true && h.allowRoot !== true) return false;
  for (const [label, allowed] of Object.entries(s.constraints)) {
    if (!Object.hasOwn(h.labels, label) || !allowed.includes(h.labels[label]!)) return false;
  }
  for (const r of ["cpu", "memoryMb", "diskMb"] as const) {
    if (s.resources[r] > 0 && !(h.capacity[r] >= s.resources[r])) return false;
  }
  return true;
}

/** Could this host take a new instance of s for a slot avoiding `avoid`, occupancy aside? */
export function feasible(h: SchedHost, s: SchedService, avoid: readonly string[]): boolean {
  return h.ready && !h.cordoned && !avoid.includes(h.id) && satisfies(h, s);
}

export function spreadValueOf(h: SchedHost, key: string): string {
  return key === "" ? "" : Object.hasOwn(h.labels, key) ? h.labels[key]! : "";
}

/** Hosts a plan has an instance on at its end, or running until a move completes. */
export function usedHosts(plan: Plan): string[] {
  return [...plan.keep.map((k) => k.hostId), ...plan.place.map((p) => p.hostId), ...plan.move.flatMap((m) => [m.hostId, m.fromHost])];
}

/** The snapshot after the reconciler carried out the plan: stops gone, places and moves on their hosts. */
export function applyPlan(s: Snapshot, plan: Plan): Snapshot {
  const key = (svc: string, slot: number): string => `${svc}\u0000${slot}`;
  const stops = new Set(plan.stop.map((x) => `${key(x.service, x.slot)}\u0000${x.hostId}`));
  const to = new Map<string, string>();
  for (const p of [...plan.place, ...plan.move]) to.set(key(p.service, p.slot), p.hostId);
  const instances: SchedInstance[] = [];
  const seen = new Set<string>();
  for (const i of s.instances) {
    if (stops.has(`${key(i.service, i.slot)}\u0000${i.hostId}`)) continue;
    const k = key(i.service, i.slot);
    seen.add(k);
    const target = to.get(k);
    instances.push(target === undefined ? { ...i } : { ...i, hostId: target });
  }
  for (const p of plan.place) {
    if (!seen.has(key(p.service, p.slot))) instances.push(inst(p.service, p.slot, p.hostId));
  }
  return { ...s, instances };
}

export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let a = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    const j = a % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---- arbitraries --------------------------------------------------------------------

const DCS = ["dc1", "dc2", "dc3"];

/** `arb` one time in `every`, else null. */
function sometimes<T>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: every - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

/**
 * Hosts with few distinct values everywhere, so that ties (identical
 * capacities, equal spread counts) and contention are the common case.
 */
export const hostArb = (id: string): fc.Arbitrary<SchedHost> =>
  fc.record({
    id: fc.constant(id),
    ready: fc.integer({ min: 0, max: 7 }).map((n) => n !== 0),
    cordoned: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    // A label is missing now and then: "" is a spread value too, and a missing label fails a constraint.
    labels: fc
      .tuple(fc.option(fc.constantFrom(...DCS), { freq: 5 }), fc.option(fc.constantFrom("ssd", "hdd"), { freq: 5 }))
      .map(([dc, disk]) => ({ ...(dc !== null ? { dc } : {}), ...(disk !== null ? { disk } : {}) })),
    capacity: fc.record({
      cpu: fc.constantFrom(2, 4, 8),
      memoryMb: fc.constantFrom(4096, 8192),
      diskMb: fc.constantFrom(0, 50_000, 100_000),
    }),
    artifacts: fc.subarray(["sha:a", "sha:b", "sha:c"], { maxLength: 2 }),
    allowRoot: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
  });

const serviceArb = (name: string): fc.Arbitrary<SchedService> =>
  fc.record({
    name: fc.constant(name),
    instances: fc.integer({ min: 0, max: 4 }),
    // zone=z1 matches no host, now and then.
    constraints: fc
      .tuple(sometimes(fc.subarray(DCS, { minLength: 1, maxLength: 2 }), 3), sometimes(fc.constant<string[]>(["ssd"]), 4), fc.integer({ min: 0, max: 14 }))
      .map(([dc, disk, z]) => ({ ...(dc !== null ? { dc } : {}), ...(disk !== null ? { disk } : {}), ...(z === 0 ? { zone: ["z1"] } : {}) })),
    spread: fc.constantFrom("", "", "dc", "disk"),
    resources: fc.record({
      cpu: fc.constantFrom(0, 1, 4, 8),
      memoryMb: fc.constantFrom(0, 1024, 8192),
      diskMb: fc.constantFrom(0, 10_000, 100_000),
    }),
    artifactDigest: fc.constantFrom("", "sha:a", "sha:b", "sha:c"),
    root: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  });

export interface FleetOptions {
  /** Allow bad input: two running instances on one host. */
  conflicts?: boolean;
  maxHosts?: number;
}

/**
 * A fleet with running, pending, pinned, avoided, penalized, scaled-down and deleted
 * instances, on hosts both known and unknown to the snapshot. Without
 * `conflicts`, no two running instances share a host (the store guarantees it).
 */
export function snapshotArb(opts: FleetOptions = {}): fc.Arbitrary<Snapshot> {
  const maxHosts = opts.maxHosts ?? 12;
  return fc
    .tuple(fc.integer({ min: 0, max: maxHosts }), fc.integer({ min: 0, max: 6 }))
    .chain(([nh, ns]) =>
      fc.tuple(
        fc.tuple(...Array.from({ length: nh }, (_, i) => hostArb(`h${i}`))),
        fc.tuple(...Array.from({ length: ns }, (_, i) => serviceArb(`s${i}`))),
        // Per record: service (incl. one deleted, "gone"), slot, where it runs, pin, avoid.
        fc.array(
          fc.record({
            service: fc.oneof(
              { weight: 8, arbitrary: fc.constantFrom("gone", ...Array.from({ length: ns }, (_, i) => `s${i}`)) },
              { weight: 1, arbitrary: fc.constant("gone") },
            ),
            // Mostly within the service's slots; now and then beyond them (scaled down).
            slot: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: 3, max: 5 }) }),
            where: fc.oneof(
              { weight: 3, arbitrary: fc.constant(-1) },
              { weight: 1, arbitrary: fc.constant(-2) },
              { weight: 8, arbitrary: fc.integer({ min: 0, max: Math.max(0, nh - 1) }) },
            ),
            pin: fc.oneof({ weight: 7, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: nh }) }),
            avoid: fc.subarray(Array.from({ length: nh }, (_, i) => `h${i}`), { maxLength: Math.min(2, nh) }),
            // Recent failures (a soft penalty): repeated hosts and equal times included.
            failed: fc.oneof(
              { weight: 3, arbitrary: fc.constant([]) },
              { weight: 1, arbitrary: fc.array(fc.record({ hostId: fc.constantFrom(...Array.from({ length: Math.max(1, nh) }, (_, i) => `h${i}`)), atMs: fc.integer({ min: 0, max: 3 }) }), { maxLength: 4 }) },
            ),
          }),
          { maxLength: 14 },
        ),
      ),
    )
    .map(([hosts, services, recs]) => {
      const used = new Set<string>();
      const seen = new Set<string>();
      const instances: SchedInstance[] = [];
      for (const r of recs) {
        const k = `${r.service}/${r.slot}`;
        if (seen.has(k)) continue;
        seen.add(k);
        // -1: pending; -2: on a host the snapshot does not know; else host index.
        let hostId = r.where === -1 ? "" : r.where === -2 ? `gone-${r.slot}` : hosts.length > 0 ? `h${r.where}` : "";
        if (hostId !== "" && used.has(hostId) && !opts.conflicts) hostId = "";
        if (hostId !== "") used.add(hostId);
        const pinnedHost = r.pin === -1 ? "" : r.pin === hosts.length ? "nowhere" : `h${r.pin}`;
        instances.push(inst(r.service, r.slot, hostId, { pinnedHost, avoidHosts: r.avoid, ...(r.failed.length ? { recentFailures: r.failed } : {}) }));
      }
      return snap(hosts, services, instances);
    });
}
