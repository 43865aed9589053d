import { describe, expect, it } from "vitest";
import { schedule } from "../../../controller/scheduler/schedule.js";
import type { Plan } from "../../../controller/scheduler/types.js";
import { host, inst, service, snap } from "./fixtures.js";

const empty: Plan = { place: [], stop: [], move: [], keep: [], unplaced: [], stuck: [] };

function hostsOf(plan: Plan): string[] {
  return [...plan.keep, ...plan.place, ...plan.move].map((p) => p.hostId).sort();
}

describe("schedule: placement", () => {
  it("puts 3 instances on 4 hosts one per host, the fourth spare", () => {
    const hosts = ["h1", "h2", "h3", "h4"].map((id) => host(id));
    const plan = schedule(snap(hosts, [service("web", { instances: 3 })]));
    expect(plan.place.map((p) => p.slot)).toEqual([0, 1, 2]);
    expect(new Set(plan.place.map((p) => p.hostId)).size).toBe(3);
    expect(plan.unplaced).toEqual([]);
  });

  it("never gives one host two services: a host given out is occupied for the rest of the plan", () => {
    const plan = schedule(snap([host("h1"), host("h2")], [service("a"), service("b"), service("c")]));
    expect(plan.place).toHaveLength(2);
    expect(new Set(hostsOf(plan)).size).toBe(2);
    // Services go by name: a and b get hosts, c is told why not.
    expect(plan.unplaced).toEqual([{ service: "c", slot: 0, reason: "no spare host: 2 are occupied" }]);
  });

  it("honours constraints: value in the allowed list, missing label fails", () => {
    const hosts = [
      host("h1", { labels: { dc: "dc1", disk: "ssd" } }),
      host("h2", { labels: { dc: "dc2", disk: "hdd" } }),
      host("h3", { labels: { dc: "dc2", disk: "ssd" } }),
      host("h4", { labels: { disk: "ssd" } }),
    ];
    const plan = schedule(snap(hosts, [service("db", { instances: 2, constraints: { dc: ["dc2", "dc3"], disk: ["ssd"] } })]));
    expect(plan.place).toEqual([{ service: "db", slot: 0, hostId: "h3" }]);
    expect(plan.unplaced).toEqual([{ service: "db", slot: 1, reason: "no spare host: 2 don't match dc in [dc2,dc3], 1 doesn't match disk=ssd, 1 is occupied" }]);
  });

  it("says which constraint matched no host at all", () => {
    const plan = schedule(snap([host("h1", { labels: { dc: "dc1" } }), host("h2", { cordoned: true })], [service("db", { constraints: { dc: ["dc9"] } })]));
    expect(plan.unplaced[0]!.reason).toBe("no spare host: 1 is cordoned, 1 doesn't match dc=dc9, 0 match dc=dc9");
  });

  it("counts resource shortfalls, not-ready hosts and occupied hosts in the reason", () => {
    const small = { cpu: 8, memoryMb: 2048, diskMb: 0 };
    const hosts = [host("h1", { capacity: small }), host("h2", { capacity: small }), host("h3", { ready: false }), host("h4"), host("h5")];
    const plan = schedule(snap(hosts, [service("big", { resources: { cpu: 1, memoryMb: 4096, diskMb: 0 } }), service("x")], [inst("x", 0, "h4")]));
    // big takes h5; a second "big" slot would find: 2 too small, 1 not ready, 2 occupied.
    const plan2 = schedule(snap(hosts, [service("big", { instances: 2, resources: { cpu: 1, memoryMb: 4096, diskMb: 0 } }), service("x")], [inst("x", 0, "h4")]));
    expect(plan.place).toEqual([{ service: "big", slot: 0, hostId: "h5" }]);
    expect(plan2.unplaced).toEqual([{ service: "big", slot: 1, reason: "no spare host: 2 lack memoryMb>=4096, 2 are occupied, 1 is not ready" }]);
  });

  it("spreads over dc as evenly as the fleet allows", () => {
    const hosts = ["dc1", "dc2", "dc3"].flatMap((dc) => Array.from({ length: 4 }, (_, i) => host(`${dc}-h${i}`, { labels: { dc } })));
    const perDc = (plan: Plan) => {
      const n: Record<string, number> = {};
      for (const p of plan.place) n[p.hostId.slice(0, 3)] = (n[p.hostId.slice(0, 3)] ?? 0) + 1;
      return n;
    };
    expect(perDc(schedule(snap(hosts, [service("web", { instances: 6, spread: "dc" })])))).toEqual({ dc1: 2, dc2: 2, dc3: 2 });
    const seven = perDc(schedule(snap(hosts, [service("web", { instances: 7, spread: "dc" })])));
    expect(Object.values(seven).sort()).toEqual([2, 2, 3]);
    // dc3 has one host only: it takes one, dc1 and dc2 share the rest as evenly as they can.
    const lopsided = hosts.filter((h) => !h.id.startsWith("dc3") || h.id === "dc3-h0");
    expect(Object.values(perDc(schedule(snap(lopsided, [service("web", { instances: 6, spread: "dc" })])))).sort()).toEqual([1, 2, 3]);
  });

  it("counts the instances already running when spreading, and hosts without the label as a value of their own", () => {
    const hosts = [host("a1", { labels: { dc: "a" } }), host("a2", { labels: { dc: "a" } }), host("b1", { labels: { dc: "b" } }), host("n1"), host("n2")];
    const plan = schedule(snap(hosts, [service("web", { instances: 3, spread: "dc" })], [inst("web", 0, "a1")]));
    // a has one already: b and the label-less "" value get the two new slots, one each.
    const got = plan.place.map((p) => p.hostId).sort();
    expect(got).toHaveLength(2);
    expect(got[0]).toBe("b1");
    expect(got[1]).toMatch(/^n/);
  });

  it("prefers a host holding the artifact, then the smallest host that fits", () => {
    const big = { cpu: 64, memoryMb: 262144, diskMb: 1_000_000 };
    const small = { cpu: 4, memoryMb: 8192, diskMb: 100_000 };
    const hosts = [host("big", { capacity: big }), host("small", { capacity: small }), host("big-cached", { capacity: big, artifacts: ["sha:web"] })];
    expect(schedule(snap(hosts, [service("web", { artifactDigest: "sha:web" })])).place[0]!.hostId).toBe("big-cached");
    expect(schedule(snap(hosts, [service("web", { artifactDigest: "sha:other" })])).place[0]!.hostId).toBe("small");
    expect(schedule(snap(hosts, [service("huge", { resources: { cpu: 32, memoryMb: 0, diskMb: 0 } })])).place[0]!.hostId).toMatch(/^big/);
  });

  it("never places a slot on a host in its avoidHosts, and says so when that leaves nothing", () => {
    const hosts = [host("h1"), host("h2")];
    const plan = schedule(snap(hosts, [service("web", { instances: 1 })], [inst("web", 0, "", { avoidHosts: ["h1", "h2"] })]));
    expect(plan.unplaced).toEqual([{ service: "web", slot: 0, reason: "no spare host: 2 are avoided (the slot must leave them)" }]);
    const plan2 = schedule(snap(hosts, [service("web", { instances: 1 })], [inst("web", 0, "", { avoidHosts: ["h1"] })]));
    expect(plan2.place).toEqual([{ service: "web", slot: 0, hostId: "h2" }]);
  });
});

describe("schedule: recent failures (a penalty, not a ban)", () => {
  const f = (hostId: string, atMs: number): { hostId: string; atMs: number } => ({ hostId, atMs });

  it("prefers a host where the slot did not fail, whatever the other rules prefer", () => {
    // h1 holds the artifact and is smallest: without the penalty it would win.
    const hosts = [host("h1", { artifacts: ["sha:web"], capacity: { cpu: 2, memoryMb: 1024, diskMb: 0 } }), host("h2")];
    const web = service("web", { artifactDigest: "sha:web" });
    expect(schedule(snap(hosts, [web], [inst("web", 0, "")])).place[0]!.hostId).toBe("h1");
    for (const search of ["scan", "index"] as const) {
      expect(schedule(snap(hosts, [web], [inst("web", 0, "", { recentFailures: [f("h1", 5)] })]), { search }).place).toEqual([{ service: "web", slot: 0, hostId: "h2" }]);
    }
  });

  it("still places the slot when every host that can take it failed it: fewest failures first, then the oldest", () => {
    const hosts = [host("h1"), host("h2"), host("h3", { cordoned: true })];
    for (const search of ["scan", "index"] as const) {
      const both = schedule(snap(hosts, [service("web")], [inst("web", 0, "", { recentFailures: [f("h1", 10), f("h2", 20)] })]), { search });
      expect(both.place).toEqual([{ service: "web", slot: 0, hostId: "h1" }]);
      expect(both.unplaced).toEqual([]);
      const twice = schedule(snap(hosts, [service("web")], [inst("web", 0, "", { recentFailures: [f("h1", 10), f("h2", 20), f("h1", 30)] })]), { search });
      expect(twice.place).toEqual([{ service: "web", slot: 0, hostId: "h2" }]);
    }
  });

  it("keeps a running instance on a host it once failed on: a penalty never moves it", () => {
    const plan = schedule(snap([host("h1"), host("h2")], [service("web")], [inst("web", 0, "h1", { recentFailures: [f("h1", 1)] })]));
    expect(plan).toEqual({ ...empty, keep: [{ service: "web", slot: 0, hostId: "h1" }] });
  });

  it("leaves a slot waiting out its backoff alone: a pending one is neither placed nor reported, a running one not moved", () => {
    const hosts = [host("h1"), host("h2", { labels: { dc: "dc2" } })];
    const pending = schedule(snap(hosts, [service("web", { instances: 2 })], [inst("web", 0, "", { waiting: true })]));
    expect(pending.place.map((p) => p.slot)).toEqual([1]);
    expect(pending.unplaced).toEqual([]);
    const misfit = schedule(snap(hosts, [service("web", { constraints: { dc: ["dc2"] } })], [inst("web", 0, "h1", { waiting: true })]));
    expect(misfit).toEqual({ ...empty, keep: [{ service: "web", slot: 0, hostId: "h1" }] });
  });
});

describe("schedule: stability", () => {
  it("keeps running instances whose hosts still fit, on cordoned and down hosts too", () => {
    const hosts = [host("h1", { cordoned: true }), host("h2", { ready: false }), host("h3"), host("h4")];
    const plan = schedule(snap(hosts, [service("web", { instances: 3 })], [inst("web", 0, "h1"), inst("web", 1, "h2")]));
    expect(plan.keep).toEqual([
      { service: "web", slot: 0, hostId: "h1" },
      { service: "web", slot: 1, hostId: "h2" },
    ]);
    // The new slot goes to a ready, uncordoned host.
    expect(plan.place).toEqual([{ service: "web", slot: 2, hostId: expect.stringMatching(/^h[34]$/) }]);
  });

  it("gives a cordoned host nothing new", () => {
    const plan = schedule(snap([host("h1", { cordoned: true })], [service("web")]));
    expect(plan.unplaced).toEqual([{ service: "web", slot: 0, reason: "no spare host: 1 is cordoned" }]);
  });

  it("moves an instance whose host no longer satisfies the spec, if some host does", () => {
    const hosts = [host("h1", { labels: { dc: "dc1" } }), host("h2", { labels: { dc: "dc2" } })];
    const plan = schedule(snap(hosts, [service("web", { constraints: { dc: ["dc2"] } })], [inst("web", 0, "h1")]));
    expect(plan).toEqual({ ...empty, move: [{ service: "web", slot: 0, hostId: "h2", fromHost: "h1" }] });
  });

  it("keeps such an instance where it is when no host fits, saying why it could not leave", () => {
    const plan = schedule(snap([host("h1", { capacity: { cpu: 1, memoryMb: 1, diskMb: 1 } })], [service("web")], [inst("web", 0, "h1")]));
    expect(plan).toEqual({ ...empty, keep: [{ service: "web", slot: 0, hostId: "h1" }], stuck: [{ service: "web", slot: 0, hostId: "h1", reason: expect.stringMatching(/^no spare host: /) }] });
  });

  it("an instance on a draining host with no spare stays, and the plan says why", () => {
    // As the planner gives a draining host: cordoned, and avoided by its instance.
    const plan = schedule(snap([host("h1", { cordoned: true }), host("h2", { ready: false })], [service("web")], [inst("web", 0, "h1", { avoidHosts: ["h1"] })]));
    expect(plan.keep).toEqual([{ service: "web", slot: 0, hostId: "h1" }]);
    expect(plan.stuck).toEqual([{ service: "web", slot: 0, hostId: "h1", reason: expect.stringMatching(/^no spare host: .*not ready/) }]);
  });

  it("moves an instance off a host in its avoidHosts", () => {
    const plan = schedule(snap([host("h1"), host("h2")], [service("web")], [inst("web", 0, "h1", { avoidHosts: ["h1"] })]));
    expect(plan.move).toEqual([{ service: "web", slot: 0, hostId: "h2", fromHost: "h1" }]);
  });

  it("keeps an instance on a host the snapshot does not know (failover decides)", () => {
    const plan = schedule(snap([host("h1")], [service("web")], [inst("web", 0, "gone")]));
    expect(plan).toEqual({ ...empty, keep: [{ service: "web", slot: 0, hostId: "gone" }] });
  });

  it("keeps the source of a move occupied: nothing else lands there in the same plan", () => {
    const hosts = [host("h1", { labels: { dc: "dc1" } }), host("h2", { labels: { dc: "dc2" } })];
    const plan = schedule(snap(hosts, [service("a", { constraints: { dc: ["dc2"] } }), service("b")], [inst("a", 0, "h1")]));
    expect(plan.move).toEqual([{ service: "a", slot: 0, hostId: "h2", fromHost: "h1" }]);
    expect(plan.unplaced.map((u) => u.service)).toEqual(["b"]);
  });

  it("resolves bad input with two instances on one host: the first by (service, slot) stays, the other moves", () => {
    const plan = schedule(snap([host("h1"), host("h2")], [service("a"), service("b")], [inst("b", 0, "h1"), inst("a", 0, "h1")]));
    expect(plan.keep).toEqual([{ service: "a", slot: 0, hostId: "h1" }]);
    expect(plan.move).toEqual([{ service: "b", slot: 0, hostId: "h2", fromHost: "h1" }]);
    const stuck = schedule(snap([host("h1")], [service("a"), service("b")], [inst("b", 0, "h1"), inst("a", 0, "h1")]));
    expect(stuck.keep).toEqual([{ service: "a", slot: 0, hostId: "h1" }]);
    expect(stuck.unplaced).toEqual([{ service: "b", slot: 0, reason: "h1 also runs a-0; no spare host: 1 is occupied" }]);
  });
});

describe("schedule: bad input", () => {
  it("gives a host listed twice one instance only", () => {
    for (const search of ["scan", "index"] as const) {
      const plan = schedule(snap([host("h1"), host("h1")], [service("a"), service("b")]), { search });
      expect(plan.place).toEqual([{ service: "a", slot: 0, hostId: "h1" }]);
      expect(plan.unplaced.map((u) => u.service)).toEqual(["b"]);
    }
  });
});

describe("schedule: pins", () => {
  it("moves a pinned slot to its pin when the pin can take it", () => {
    const plan = schedule(snap([host("h1"), host("h2")], [service("web")], [inst("web", 0, "h1", { pinnedHost: "h2" })]));
    expect(plan).toEqual({ ...empty, move: [{ service: "web", slot: 0, hostId: "h2", fromHost: "h1" }] });
  });

  it("reports a pin whose host runs another instance, and keeps the slot where it runs", () => {
    const plan = schedule(snap([host("h1"), host("h2")], [service("web"), service("db")], [inst("web", 0, "h1", { pinnedHost: "h2" }), inst("db", 0, "h2")]));
    expect(plan.unplaced).toEqual([{ service: "web", slot: 0, reason: "pinned host h2 runs db-0" }]);
    expect(plan.keep).toContainEqual({ service: "web", slot: 0, hostId: "h1" });
    expect(plan.move).toEqual([]);
  });

  it("places a pending pinned slot on its pin, or says why it cannot", () => {
    const hosts = [host("h1"), host("h2", { cordoned: true }), host("h3", { capacity: { cpu: 1, memoryMb: 1, diskMb: 0 } })];
    const svc = service("web", { instances: 4, resources: { cpu: 1, memoryMb: 512, diskMb: 0 } });
    const plan = schedule(
      snap(hosts, [svc], [
        inst("web", 0, "", { pinnedHost: "h1" }),
        inst("web", 1, "", { pinnedHost: "h2" }),
        inst("web", 2, "", { pinnedHost: "h3" }),
        inst("web", 3, "", { pinnedHost: "h9" }),
      ]),
    );
    expect(plan.place).toEqual([{ service: "web", slot: 0, hostId: "h1" }]);
    expect(plan.unplaced).toEqual([
      { service: "web", slot: 1, reason: "pinned host h2 is cordoned" },
      { service: "web", slot: 2, reason: "pinned host h3 lacks memoryMb>=512" },
      { service: "web", slot: 3, reason: "pinned host h9 is unknown" },
    ]);
  });

  it("serves pins before unpinned slots, so no one takes a pinned host first", () => {
    // "a" sorts before "b", and without pins first a-0 would be free to take h1.
    const plan = schedule(snap([host("h1"), host("h2")], [service("a"), service("b")], [inst("b", 0, "", { pinnedHost: "h1" })]));
    expect(plan.place).toContainEqual({ service: "b", slot: 0, hostId: "h1" });
    expect(plan.place).toContainEqual({ service: "a", slot: 0, hostId: "h2" });
  });

  it("keeps an instance that sits on its pin even when the spec no longer fits the host", () => {
    const plan = schedule(snap([host("h1"), host("h2", { labels: { dc: "dc2" } })], [service("web", { constraints: { dc: ["dc2"] } })], [inst("web", 0, "h1", { pinnedHost: "h1" })]));
    expect(plan).toEqual({ ...empty, keep: [{ service: "web", slot: 0, hostId: "h1" }] });
  });
});

describe("schedule: stops", () => {
  it("stops every instance of a deleted service, pending records included", () => {
    const plan = schedule(snap([host("h1"), host("h2")], [], [inst("old", 0, "h1"), inst("old", 1, "")]));
    expect(plan).toEqual({
      ...empty,
      stop: [
        { service: "old", slot: 0, hostId: "h1" },
        { service: "old", slot: 1, hostId: "" },
      ],
    });
  });

  it("scales down by stopping the highest slots", () => {
    const hosts = ["h1", "h2", "h3"].map((id) => host(id));
    const plan = schedule(snap(hosts, [service("web", { instances: 1 })], [inst("web", 0, "h1"), inst("web", 1, "h2"), inst("web", 2, "h3")]));
    expect(plan.stop).toEqual([
      { service: "web", slot: 1, hostId: "h2" },
      { service: "web", slot: 2, hostId: "h3" },
    ]);
    expect(plan.keep).toEqual([{ service: "web", slot: 0, hostId: "h1" }]);
  });

  it("frees a stopped instance's host for the rest of the plan", () => {
    const plan = schedule(snap([host("h1")], [service("new")], [inst("old", 0, "h1")]));
    expect(plan.stop).toEqual([{ service: "old", slot: 0, hostId: "h1" }]);
    expect(plan.place).toEqual([{ service: "new", slot: 0, hostId: "h1" }]);
  });

  it("stops the extra record when one slot is recorded twice, keeping the one with a host", () => {
    const plan = schedule(snap([host("h1")], [service("web")], [inst("web", 0, ""), inst("web", 0, "h1")]));
    expect(plan.keep).toEqual([{ service: "web", slot: 0, hostId: "h1" }]);
    expect(plan.stop).toEqual([{ service: "web", slot: 0, hostId: "" }]);
  });
});

describe("schedule: only", () => {
  const hosts = ["h1", "h2", "h3", "h4"].map((id) => host(id));

  it("decides the listed slots only, treating every other instance as fixed", () => {
    const s = snap(hosts, [service("web", { instances: 2 }), service("db", { instances: 3 })], [inst("web", 0, "h1"), inst("web", 1, "", { avoidHosts: ["h2"] }), inst("db", 0, "h3"), inst("db", 5, "h4")]);
    const plan = schedule(s, { only: [{ service: "web", slot: 1 }] });
    // h1, h3 run instances; h4 runs db-5, which this plan does not judge; h2 is avoided.
    expect(plan).toEqual({ ...empty, unplaced: [{ service: "web", slot: 1, reason: "no spare host: 3 are occupied, 1 is avoided (the slot must leave it)" }] });
    expect(schedule(s, { only: [{ service: "db", slot: 5 }] })).toEqual({ ...empty, stop: [{ service: "db", slot: 5, hostId: "h4" }] });
  });

  it("gives the same answer as a full plan when the rest of the fleet is settled", () => {
    const s = snap(hosts, [service("web", { instances: 2, spread: "dc" })], [inst("web", 0, "h1"), inst("web", 1, "")]);
    const full = schedule(s);
    const only = schedule(s, { only: [{ service: "web", slot: 1 }] });
    expect(only.place).toEqual(full.place);
    expect(only.keep).toEqual([]);
  });
});

describe("schedule: purity", () => {
  it("does not change its input", () => {
    const s = snap([host("h1"), host("h2")], [service("web", { instances: 2 })], [inst("web", 0, "h1", { avoidHosts: ["h2"] })]);
    const copy = structuredClone(s);
    schedule(s);
    schedule(s, { search: "index" });
    expect(s).toEqual(copy);
  });
});
