import { describe, expect, it } from "vitest";
import { cordonedFilter } from "../../../../controller/scheduler/filters/cordoned.js";
import { host, occFor, reqFor, service } from "../fixtures.js";

describe("cordonedFilter", () => {
  const req = reqFor(service("web"));
  it("passes over a cordoned host", () => {
    const h = host("h1", { cordoned: true });
    expect(cordonedFilter.reject(h, 0, req, occFor([h]))).toEqual({ kind: "cordoned" });
  });
  it("lets an uncordoned host through, ready or not (readiness is another rule)", () => {
    const h = host("h1", { ready: false });
    expect(cordonedFilter.reject(h, 0, req, occFor([h]))).toBeUndefined();
  });
});
