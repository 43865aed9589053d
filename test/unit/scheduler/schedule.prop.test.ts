/**
 * Invariants of `schedule` on generated fleets (Nomad's reconcile_cluster_prop_test.go).
 * The hard rules are checked against the oracle in fixtures.ts, not the filters.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { schedule } from "../../../controller/scheduler/schedule.js";
import type { Plan, SchedHost, SchedInstance, SchedService, Snapshot } from "../../../controller/scheduler/types.js";
import { applyPlan, feasible, host, satisfies, service, shuffled, snap, snapshotArb, spreadValueOf, usedHosts } from "./fixtures.js";

const RUNS = { numRuns: 300 };

function key(x: { service: string; slot: number }): string {
  return `${x.service}/${x.slot}`;
}

function restrict<T extends { service: string; slot: number }>(xs: readonly T[], slots: ReadonlySet<string>, inside: boolean): T[] {
  return xs.filter((x) => slots.has(key(x)) === inside);
}

function index(s: Snapshot): { hosts: Map<string, SchedHost>; services: Map<string, SchedService> } {
  return { hosts: new Map(s.hosts.map((h) => [h.id, h])), services: new Map(s.services.map((x) => [x.name, x])) };
}

/** Is this running instance one the scheduler must leave alone (no pin elsewhere, its host still fits)? */
function settled(inst: SchedInstance, s: Snapshot): boolean {
  const { hosts, services } = index(s);
  const svc = services.get(inst.service);
  const h = hosts.get(inst.hostId);
  if (svc === undefined || inst.hostId === "" || inst.slot >= svc.instances) return false;
  if (inst.pinnedHost !== "" && inst.pinnedHost !== inst.hostId) return false;
  if (h === undefined || inst.pinnedHost === inst.hostId) return true;
  return satisfies(h, svc) && !inst.avoidHosts.includes(inst.hostId);
}

describe("schedule: properties", () => {
  it("never puts two instances on one host, counting keeps, places and both ends of moves", () => {
    fc.assert(
      fc.property(snapshotArb(), (s) => {
        const used = usedHosts(schedule(s));
        expect(new Set(used).size).toBe(used.length);
      }),
      RUNS,
    );
  });

  it("never puts two instances on one host even when the input already does (bad input)", () => {
    fc.assert(
      fc.property(snapshotArb({ conflicts: true }), (s) => {
        const plan = schedule(s);
        const targets = [...plan.keep, ...plan.place, ...plan.move].map((p) => p.hostId);
        expect(new Set(targets).size).toBe(targets.length);
        // A move's source runs until the move completes: nothing new lands there.
        const sources = new Set(plan.move.map((m) => m.fromHost));
        for (const p of plan.place) expect(sources.has(p.hostId)).toBe(false);
      }),
      RUNS,
    );
  });

  it("places and moves only onto hosts that are ready, uncordoned, free, fit the spec and are not avoided", () => {
    fc.assert(
      fc.property(snapshotArb(), (s) => {
        const plan = schedule(s);
        const { hosts, services } = index(s);
        const stopped = new Set(plan.stop.map((x) => `${key(x)}@${x.hostId}`));
        const running = new Set(s.instances.filter((i) => i.hostId !== "" && !stopped.has(`${key(i)}@${i.hostId}`)).map((i) => i.hostId));
        const record = new Map(s.instances.map((i) => [key(i), i]));
        for (const p of [...plan.place, ...plan.move]) {
          const h = hosts.get(p.hostId);
          expect(h).toBeDefined();
          expect(feasible(h!, services.get(p.service)!, record.get(key(p))?.avoidHosts ?? [])).toBe(true);
          expect(running.has(p.hostId)).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it("places a slot on a host it recently failed on only when no other host could take it", () => {
    // Every slot of every service gets a record, each with some of a few recent failures.
    const arb = snapshotArb().chain((s) =>
      fc
        .array(fc.record({ hostId: fc.constantFrom("h0", "h1", "h2", "h3", ...s.hosts.map((h) => h.id)), atMs: fc.integer({ min: 0, max: 3 }) }), { maxLength: 8 })
        .map((failed): Snapshot => {
          const have = new Set(s.instances.map(key));
          const missing = s.services.flatMap((svc) => Array.from({ length: Math.min(svc.instances, 4) }, (_, slot) => ({ service: svc.name, slot })).filter((x) => !have.has(key(x))));
          const all = [...s.instances, ...missing.map((x) => ({ ...x, hostId: "", pinnedHost: "", avoidHosts: [] }))];
          return { ...s, instances: all.map((i, k) => ({ ...i, recentFailures: failed.filter((_, j) => (j + k) % 3 !== 0) })) };
        }),
    );
    let penalized = 0;
    fc.assert(
      fc.property(arb, fc.constantFrom("scan" as const, "index" as const), (s, search) => {
        const plan = schedule(s, { search });
        const { services } = index(s);
        const used = new Set(usedHosts(plan));
        const record = new Map(s.instances.map((i) => [key(i), i]));
        for (const p of [...plan.place, ...plan.move]) {
          const r = record.get(key(p));
          const failed = new Set((r?.recentFailures ?? []).map((f) => f.hostId));
          if (!failed.has(p.hostId) || (r?.pinnedHost ?? "") === p.hostId) continue;
          penalized++;
          // Hosts are only taken during a plan: one free at the end was free when the slot was decided.
          const better = s.hosts.filter((h) => !used.has(h.id) && !failed.has(h.id) && feasible(h, services.get(p.service)!, r?.avoidHosts ?? []));
          expect(better.map((h) => h.id)).toEqual([]);
        }
      }),
      RUNS,
    );
    // The property was put to the test: some slots did land where they had failed.
    expect(penalized).toBeGreaterThan(0);
  });

  it("decides every slot exactly once, and stops exactly the deleted services' and the surplus slots' records", () => {
    fc.assert(
      fc.property(snapshotArb(), (s) => {
        const plan = schedule(s);
        const { services } = index(s);
        const decided = [...plan.keep, ...plan.place, ...plan.move].map(key);
        expect(new Set(decided).size).toBe(decided.length);
        const want = new Set(s.services.flatMap((x) => Array.from({ length: x.instances }, (_, slot) => `${x.name}/${slot}`)));
        for (const u of plan.unplaced) {
          // Only a pin that cannot be honoured leaves a running instance both kept and unplaced.
          if (decided.includes(key(u))) expect(u.reason).toMatch(/^pinned host /);
        }
        expect(new Set([...decided, ...plan.unplaced.map(key)])).toEqual(want);
        const surplus = s.instances.filter((i) => !services.has(i.service) || i.slot >= services.get(i.service)!.instances);
        expect(plan.stop.map((x) => `${key(x)}@${x.hostId}`).sort()).toEqual(surplus.map((i) => `${key(i)}@${i.hostId}`).sort());
      }),
      RUNS,
    );
  });

  it("keeps every running instance that has no pin elsewhere and whose host still fits; moves only with a reason", () => {
    fc.assert(
      fc.property(snapshotArb(), (s) => {
        const plan = schedule(s);
        const { hosts, services } = index(s);
        const keeps = new Set(plan.keep.map((k) => `${key(k)}@${k.hostId}`));
        for (const i of s.instances) if (settled(i, s)) expect(keeps.has(`${key(i)}@${i.hostId}`)).toBe(true);
        const record = new Map(s.instances.map((i) => [key(i), i]));
        for (const m of plan.move) {
          const i = record.get(key(m))!;
          expect(i.hostId).toBe(m.fromHost);
          const pinned = i.pinnedHost !== "" && i.pinnedHost !== i.hostId;
          if (pinned) {
            expect(m.hostId).toBe(i.pinnedHost);
            continue;
          }
          // Not pinned: its host no longer fits it (an unknown host is never judged, so never left).
          const h = hosts.get(i.hostId);
          expect(h).toBeDefined();
          expect(!satisfies(h!, services.get(i.service)!) || i.avoidHosts.includes(i.hostId)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("spreads greedily: a value that got a new instance is never 2 ahead of a value with a free host that fits", () => {
    // Precisely: for a spread service without pins or avoidHosts whose running
    // instances all still fit, let c(v) be its instances per spread value at the
    // end of the plan. For every value a that received a new instance and every
    // host h that is free at the end and could take the service, c(a) ≤ c(value(h)) + 1.
    // (At the last placement into a, the value of h had a free host and at most
    // c(value(h)) instances, and the emptiest such value was chosen.)
    fc.assert(
      fc.property(snapshotArb(), (s) => {
        const plan = schedule(s);
        const { hosts } = index(s);
        const used = new Set(usedHosts(plan));
        for (const svc of s.services) {
          if (svc.spread === "") continue;
          const mine = s.instances.filter((i) => i.service === svc.name && i.slot < svc.instances);
          // A recent failure ranks a host last, above spread: it may legitimately skew the spread.
          if (mine.some((i) => i.pinnedHost !== "" || i.avoidHosts.length > 0 || (i.recentFailures?.length ?? 0) > 0 || (i.hostId !== "" && !settled(i, s)))) continue;
          const c = new Map<string, number>();
          for (const p of [...plan.keep, ...plan.place, ...plan.move]) {
            const h = hosts.get(p.hostId);
            if (p.service === svc.name && h !== undefined) c.set(spreadValueOf(h, svc.spread), (c.get(spreadValueOf(h, svc.spread)) ?? 0) + 1);
          }
          const grown = new Set(plan.place.filter((p) => p.service === svc.name).map((p) => spreadValueOf(hosts.get(p.hostId)!, svc.spread)));
          for (const h of s.hosts) {
            if (used.has(h.id) || !feasible(h, svc, [])) continue;
            const b = c.get(spreadValueOf(h, svc.spread)) ?? 0;
            for (const a of grown) expect(c.get(a)!).toBeLessThanOrEqual(b + 1);
          }
        }
      }),
      RUNS,
    );
  });

  it("spreads evenly: counts per value differ by at most 1 when every value has enough hosts that fit", () => {
    // One service alone, from scratch: V = spread values of the hosts that can
    // take it; if each has ≥ ceil(n / |V|) of them, max − min over V ≤ 1.
    const arb = fc
      .tuple(
        fc.array(fc.record({ dc: fc.constantFrom("dc1", "dc2", "dc3", ""), big: fc.boolean(), ready: fc.integer({ min: 0, max: 5 }) }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
      )
      .map(([hs, n, needsBig]) => ({
        hosts: hs.map((h, i) =>
          host(`h${i}`, {
            labels: h.dc === "" ? {} : { dc: h.dc },
            ready: h.ready !== 0,
            capacity: h.big ? { cpu: 16, memoryMb: 65536, diskMb: 0 } : { cpu: 2, memoryMb: 4096, diskMb: 0 },
          }),
        ),
        svc: service("web", { instances: n, spread: "dc", resources: { cpu: needsBig ? 8 : 1, memoryMb: 1024, diskMb: 0 } }),
      }));
    fc.assert(
      fc.property(arb, ({ hosts, svc }) => {
        const fit = hosts.filter((h) => feasible(h, svc, []));
        const perValue = new Map<string, number>();
        for (const h of fit) perValue.set(spreadValueOf(h, "dc"), (perValue.get(spreadValueOf(h, "dc")) ?? 0) + 1);
        fc.pre(perValue.size > 0 && [...perValue.values()].every((k) => k >= Math.ceil(svc.instances / perValue.size)));
        const plan = schedule(snap(hosts, [svc]));
        expect(plan.unplaced).toEqual([]);
        const byId = new Map(hosts.map((h) => [h.id, h]));
        const got = new Map([...perValue.keys()].map((v) => [v, 0]));
        for (const p of plan.place) got.set(spreadValueOf(byId.get(p.hostId)!, "dc"), got.get(spreadValueOf(byId.get(p.hostId)!, "dc"))! + 1);
        expect(Math.max(...got.values()) - Math.min(...got.values())).toBeLessThanOrEqual(1);
      }),
      RUNS,
    );
  });

  it("is deterministic: the same snapshot, copied or listed in another order, gives the same plan", () => {
    fc.assert(
      fc.property(snapshotArb(), fc.integer(), (s, seed) => {
        const plan = schedule(s);
        expect(schedule(structuredClone(s))).toEqual(plan);
        const reordered = { ...s, hosts: shuffled(s.hosts, seed), services: shuffled(s.services, seed + 1), instances: shuffled(s.instances, seed + 2) };
        expect(schedule(reordered)).toEqual(plan);
      }),
      RUNS,
    );
  });

  it("is idempotent: once the plan is carried out, the next one stops nothing and changes only what the moves made room for", () => {
    // Sources of moves stay occupied while a plan is made (the old copy runs until
    // the new one is healthy). Once carried out, they are free, and a slot the first
    // plan could not serve may take one — nothing else changes. Without moves,
    // the second plan changes nothing at all.
    fc.assert(
      fc.property(snapshotArb(), (s) => {
        const first = schedule(s);
        const second = schedule(applyPlan(s, first));
        expect(second.stop).toEqual([]);
        const vacated = new Set(first.move.map((m) => m.fromHost));
        for (const p of [...second.place, ...second.move]) expect(vacated.has(p.hostId)).toBe(true);
        if (first.move.length === 0) {
          expect(second.place).toEqual([]);
          expect(second.move).toEqual([]);
          expect(second.unplaced).toEqual(first.unplaced);
        }
      }),
      RUNS,
    );
  });

  it("breaks ties stably: among identical hosts, removing one that was not chosen changes no choice", () => {
    const arb = fc.record({ n: fc.integer({ min: 2, max: 40 }), slots: fc.integer({ min: 1, max: 4 }), drop: fc.nat() });
    fc.assert(
      fc.property(arb, ({ n, slots, drop }) => {
        const hosts = Array.from({ length: n }, (_, i) => host(`node-${i}`));
        const svc = service("web", { instances: slots });
        const plan = schedule(snap(hosts, [svc]));
        const chosen = new Set(plan.place.map((p) => p.hostId));
        const spare = hosts.filter((h) => !chosen.has(h.id));
        fc.pre(spare.length > 0);
        const gone = spare[drop % spare.length]!.id;
        expect(schedule(snap(hosts.filter((h) => h.id !== gone), [svc])).place).toEqual(plan.place);
      }),
      RUNS,
    );
  });

  it("counts every host once in an unplaced slot's reason", () => {
    fc.assert(
      fc.property(snapshotArb(), (s) => {
        const plan = schedule(s);
        for (const u of plan.unplaced) {
          if (!u.reason.startsWith("no spare host: ") || s.hosts.length === 0) continue;
          const counts = [...u.reason.matchAll(/(?:: |, )(\d+) (?!match)/g)].map((m) => Number(m[1]));
          expect(counts.reduce((a, b) => a + b, 0)).toBe(s.hosts.length);
        }
      }),
      RUNS,
    );
  });
});

describe("schedule: search strategies and scopes agree", () => {
  it("scan and indexes give the same plan", () => {
    fc.assert(
      fc.property(snapshotArb({ maxHosts: 40 }), (s) => {
        expect(schedule(s, { search: "index" })).toEqual(schedule(s, { search: "scan" }));
      }),
      { numRuns: 500 },
    );
  });

  it("scan and indexes agree on larger fleets where indexes skip whole classes of hosts", () => {
    fc.assert(
      fc.property(snapshotArb({ maxHosts: 40 }), (s) => {
        // Everything at least three times: more contention, longer runs of taken hosts.
        const big: Snapshot = {
          ...s,
          hosts: [0, 1, 2].flatMap((k) => s.hosts.map((h) => ({ ...h, id: `${h.id}.${k}` }))),
          services: s.services.map((x) => ({ ...x, instances: x.instances * 3 })),
          instances: s.instances.map((i) => ({ ...i, hostId: i.hostId === "" ? "" : `${i.hostId}.0` })),
        };
        expect(schedule(big, { search: "index" })).toEqual(schedule(big, { search: "scan" }));
      }),
      { numRuns: 200 },
    );
  });

  it("a plan for some slots equals the full plan's decisions for them when every other instance is settled", () => {
    // Scope: the lost slots, every slot the full plan does anything but keep,
    // and some kept ones. Outside it, instances must be settled (kept, host fits).
    const arb = snapshotArb().chain((s0) => {
      const s1 = applyPlan(s0, schedule(s0));
      const placed = s1.instances.filter((i) => i.hostId !== "").map(key);
      return fc.record({ s1: fc.constant(s1), lost: fc.subarray(placed), extra: fc.subarray(placed), down: fc.boolean() });
    });
    fc.assert(
      fc.property(arb, ({ s1, lost, extra, down }) => {
        const lostSet = new Set(lost);
        const lostHosts = new Set(s1.instances.filter((i) => lostSet.has(key(i))).map((i) => i.hostId));
        // As failover leaves them: pending, the old host avoided, and maybe down.
        const s2: Snapshot = {
          ...s1,
          hosts: s1.hosts.map((h) => (down && lostHosts.has(h.id) ? { ...h, ready: false } : h)),
          instances: s1.instances.map((i) => (lostSet.has(key(i)) ? { ...i, hostId: "", avoidHosts: [...i.avoidHosts, i.hostId] } : i)),
        };
        const full = schedule(s2);
        const scope = new Set([...lost, ...extra, ...[...full.place, ...full.move, ...full.unplaced, ...full.stop].map(key)]);
        fc.pre(s2.instances.every((i) => scope.has(key(i)) || i.hostId === "" || settled(i, s2)));
        const only = schedule(s2, { only: [...scope].map((k) => ({ service: k.slice(0, k.lastIndexOf("/")), slot: Number(k.slice(k.lastIndexOf("/") + 1)) })) });
        const expected: Plan = {
          place: restrict(full.place, scope, true),
          move: restrict(full.move, scope, true),
          stop: restrict(full.stop, scope, true),
          keep: restrict(full.keep, scope, true),
          unplaced: restrict(full.unplaced, scope, true),
          stuck: restrict(full.stuck, scope, true),
        };
        expect(only).toEqual(expected);
      }),
      RUNS,
    );
  });
});
