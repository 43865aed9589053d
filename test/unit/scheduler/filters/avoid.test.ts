import { describe, expect, it } from "vitest";
import { avoidFilter } from "../../../../controller/scheduler/filters/avoid.js";
import { host, occFor, reqFor, service } from "../fixtures.js";

describe("avoidFilter", () => {
  const hosts = [host("h1"), host("h2")];
  it("passes over the hosts in the slot's avoidHosts, and only those", () => {
    const req = reqFor(service("web"), 0, ["h1"]);
    const occ = occFor(hosts);
    expect(avoidFilter.reject(hosts[0]!, 0, req, occ)).toEqual({ kind: "avoided" });
    expect(avoidFilter.reject(hosts[1]!, 1, req, occ)).toBeUndefined();
  });
  it("is per slot: another slot of the service may use the host", () => {
    expect(avoidFilter.reject(hosts[0]!, 0, reqFor(service("web"), 1), occFor(hosts))).toBeUndefined();
  });
});
