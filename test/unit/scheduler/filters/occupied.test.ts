import { describe, expect, it } from "vitest";
import { occupiedFilter } from "../../../../controller/scheduler/filters/occupied.js";
import { host, occFor, reqFor, service } from "../fixtures.js";

describe("occupiedFilter", () => {
  const hosts = [host("h1"), host("h2"), host("h3")];
  const req = reqFor(service("web"));

  it("passes over a host running an instance of any service", () => {
    const occ = occFor(hosts, { h1: "db-0" });
    expect(occupiedFilter.reject(hosts[0]!, 0, req, occ)).toEqual({ kind: "occupied" });
    expect(occ.occupant(0)).toBe("db-0");
    expect(occupiedFilter.reject(hosts[1]!, 1, req, occ)).toBeUndefined();
  });

  it("passes over a host given out earlier in the same plan", () => {
    const occ = occFor(hosts);
    occ.take(2, { service: "cache", slot: 1 });
    expect(occupiedFilter.reject(hosts[2]!, 2, req, occ)).toEqual({ kind: "occupied" });
    expect(occ.occupant(2)).toBe("cache-1");
  });
});
