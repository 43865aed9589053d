import { describe, expect, it } from "vitest";
import { rootFilter } from "../../../../controller/scheduler/filters/root.js";
import { schedule } from "../../../../controller/scheduler/schedule.js";
import { host, occFor, reqFor, service, snap } from "../fixtures.js";

describe("rootFilter: a service with run.user root goes only to hosts whose agent allows it", () => {
  const hosts = [host("h1"), host("h2", { allowRoot: true })];

  it("passes over hosts without allowRoot for a root service, and no host for another", () => {
    const occ = occFor(hosts);
    const root = reqFor(service("web", { root: true }));
    expect(rootFilter.reject(hosts[0]!, 0, root, occ)).toEqual({ kind: "no-root" });
    expect(rootFilter.reject(hosts[1]!, 1, root, occ)).toBeUndefined();
    const plain = reqFor(service("web"));
    expect(rootFilter.reject(hosts[0]!, 0, plain, occ)).toBeUndefined();
  });

  for (const search of ["scan", "index"] as const) {
    it(`places it on the host that allows root, else says why (${search})`, () => {
      const p = schedule(snap(hosts, [service("web", { root: true, instances: 1 })]), { search });
      expect(p.place).toEqual([{ service: "web", slot: 0, hostId: "h2" }]);
      const none = schedule(snap([host("h1"), host("h3")], [service("web", { root: true })]), { search });
      expect(none.place).toEqual([]);
      expect(none.unplaced[0]?.reason).toBe("no spare host: 2 don't allow run.user root (allowRoot: true in agent.yaml)");
    });
  }

  it("moves a running root instance off a host that stopped allowing root", () => {
    const p = schedule(snap([host("h1"), host("h2", { allowRoot: true })], [service("web", { root: true })], [{ service: "web", slot: 0, hostId: "h1", pinnedHost: "", avoidHosts: [] }]));
    expect(p.move.map((m) => m.hostId ?? m)).toHaveLength(1);
  });
});
