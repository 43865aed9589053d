import { describe, expect, it } from "vitest";
import { readyFilter } from "../../../../controller/scheduler/filters/ready.js";
import { host, occFor, reqFor, service } from "../fixtures.js";

describe("readyFilter", () => {
  const req = reqFor(service("web"));
  it("lets a ready host through", () => {
    const h = host("h1");
    expect(readyFilter.reject(h, 0, req, occFor([h]))).toBeUndefined();
  });
  it("passes over a host that is down or joining", () => {
    const h = host("h1", { ready: false });
    expect(readyFilter.reject(h, 0, req, occFor([h]))).toEqual({ kind: "not-ready" });
  });
});
