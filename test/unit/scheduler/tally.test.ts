import { describe, expect, it } from "vitest";
import { tallyKey, tallyRejections } from "../../../controller/scheduler/tally.js";
import { Fleet } from "../../../controller/scheduler/fleet.js";
import { host, occFor, reqFor, service } from "./fixtures.js";

describe("tallyRejections", () => {
  const hosts = [
    host("h1", { ready: false, labels: { dc: "dc1" } }),
    host("h2", { cordoned: true }),
    host("h3", { labels: { dc: "dc2" } }),
    host("h4", { labels: { dc: "dc1" }, capacity: { cpu: 1, memoryMb: 1, diskMb: 0 } }),
    host("h5", { labels: { dc: "dc1" } }),
    host("h6", { labels: { dc: "dc1" } }),
  ];
  const svc = service("web", { constraints: { dc: ["dc1"], zone: ["z1"] }, resources: { cpu: 2, memoryMb: 0, diskMb: 0 } });

  it("counts each host once, under the first rule it fails, and names constraints no host matches", () => {
    const occ = occFor(hosts, { h5: "db-0" });
    const t = tallyRejections(new Fleet(hosts), reqFor(svc, 0, ["h6"]), occ);
    const byKind = Object.fromEntries(t.counts.map((c) => [c.reason.kind === "constraint" ? `constraint:${c.reason.label}` : c.reason.kind, c.count]));
    // h3 fails dc; h4–h6 are in dc1 but have no zone label, and constraints come before resources,
    // avoidHosts and occupancy, so h4 (too small), h5 (occupied) and h6 (avoided) count under zone.
    expect(byKind).toEqual({ "not-ready": 1, cordoned: 1, "constraint:dc": 1, "constraint:zone": 3 });
    expect(t.unmatched).toEqual([{ label: "zone", allowed: ["z1"] }]);
  });

  it("keys slots alike when they would get the same tally", () => {
    expect(tallyKey(reqFor(svc, 0, ["b", "a"]))).toBe(tallyKey(reqFor(svc, 3, ["a", "b"])));
    expect(tallyKey(reqFor(svc, 0, ["a"]))).not.toBe(tallyKey(reqFor(svc, 0, [])));
  });
});
