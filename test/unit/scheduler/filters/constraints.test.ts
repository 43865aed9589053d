import { describe, expect, it } from "vitest";
import { constraintsFilter } from "../../../../controller/scheduler/filters/constraints.js";
import { host, occFor, reqFor, service } from "../fixtures.js";

describe("constraintsFilter", () => {
  const svc = service("web", { constraints: { dc: ["dc1", "dc2"], disk: ["ssd"] } });
  const req = reqFor(svc);
  const check = (labels: Record<string, string>) => {
    const h = host("h", { labels });
    return constraintsFilter.reject(h, 0, req, occFor([h]));
  };

  it("lets a host through when every label's value is in its allowed list", () => {
    expect(check({ dc: "dc2", disk: "ssd", rack: "r9" })).toBeUndefined();
  });

  it("names the first failing label, in sorted order", () => {
    expect(check({ dc: "dc3", disk: "hdd" })).toEqual({ kind: "constraint", label: "dc", allowed: ["dc1", "dc2"] });
    expect(check({ dc: "dc1", disk: "hdd" })).toEqual({ kind: "constraint", label: "disk", allowed: ["ssd"] });
  });

  it("fails a host that lacks the label", () => {
    expect(check({ disk: "ssd" })).toEqual({ kind: "constraint", label: "dc", allowed: ["dc1", "dc2"] });
  });

  it("reads only the host's own labels (no Object.prototype lookalikes)", () => {
    const r = reqFor(service("odd", { constraints: { constructor: ["x"] } }));
    const h = host("h");
    expect(constraintsFilter.reject(h, 0, r, occFor([h]))).toMatchObject({ kind: "constraint", label: "constructor" });
  });

  it("lets any host through when there are no constraints, and none through an empty allowed list", () => {
    const h = host("h");
    expect(constraintsFilter.reject(h, 0, reqFor(service("free")), occFor([h]))).toBeUndefined();
    expect(constraintsFilter.reject(host("h", { labels: { dc: "dc1" } }), 0, reqFor(service("none", { constraints: { dc: [] } })), occFor([h]))).toBeDefined();
  });
});
