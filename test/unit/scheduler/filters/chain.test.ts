import { describe, expect, it } from "vitest";
import { FILTERS, SEARCH_ORDER, STILL_FITS, firstRejection } from "../../../../controller/scheduler/filters/chain.js";
import { host, occFor, reqFor, service } from "../fixtures.js";

describe("filter chain", () => {
  it("reports a host under the first rule it fails: static facts before occupancy", () => {
    const h = host("h1", { labels: { dc: "dc1" }, capacity: { cpu: 1, memoryMb: 1, diskMb: 0 } });
    const req = reqFor(service("web", { constraints: { dc: ["dc2"] }, resources: { cpu: 2, memoryMb: 0, diskMb: 0 } }));
    const occ = occFor([h], { h1: "db-0" });
    expect(firstRejection(FILTERS, h, 0, req, occ)).toMatchObject({ kind: "constraint" });
    expect(firstRejection(FILTERS, { ...h, cordoned: true }, 0, req, occ)).toEqual({ kind: "cordoned" });
  });

  it("search order holds the same rules, so the same hosts pass", () => {
    expect(new Set(SEARCH_ORDER)).toEqual(new Set(FILTERS));
    expect(SEARCH_ORDER).toHaveLength(FILTERS.length);
  });

  it("a running instance's host 'still fits' whatever its readiness, cordon or occupancy (but not once it stops allowing root)", () => {
    expect(STILL_FITS.map((f) => f.name)).toEqual(["root", "constraints", "resources", "avoid"]);
  });
});
