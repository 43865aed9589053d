import { describe, expect, it } from "vitest";
import { resourcesFilter } from "../../../../controller/scheduler/filters/resources.js";
import { host, occFor, reqFor, service } from "../fixtures.js";

describe("resourcesFilter", () => {
  const check = (capacity: { cpu: number; memoryMb: number; diskMb: number }, resources: { cpu: number; memoryMb: number; diskMb: number }) => {
    const h = host("h", { capacity });
    return resourcesFilter.reject(h, 0, reqFor(service("web", { resources })), occFor([h]));
  };

  it("lets a host through when capacity ≥ request for each resource, equality included", () => {
    expect(check({ cpu: 4, memoryMb: 4096, diskMb: 100 }, { cpu: 4, memoryMb: 4096, diskMb: 100 })).toBeUndefined();
  });

  it("names the first resource that falls short, with the amount needed", () => {
    expect(check({ cpu: 4, memoryMb: 2048, diskMb: 0 }, { cpu: 2, memoryMb: 4096, diskMb: 10 })).toEqual({ kind: "resources", resource: "memoryMb", need: 4096 });
    expect(check({ cpu: 1, memoryMb: 2048, diskMb: 0 }, { cpu: 2, memoryMb: 4096, diskMb: 10 })).toEqual({ kind: "resources", resource: "cpu", need: 2 });
  });

  it("fits a requirement of 0 on any host, even one with nothing (or bad data) of it", () => {
    expect(check({ cpu: 0, memoryMb: 0, diskMb: -1 }, { cpu: 0, memoryMb: 0, diskMb: 0 })).toBeUndefined();
  });

  it("fails a NaN capacity rather than letting it through", () => {
    expect(check({ cpu: Number.NaN, memoryMb: 1, diskMb: 1 }, { cpu: 1, memoryMb: 0, diskMb: 0 })).toMatchObject({ resource: "cpu" });
  });
});
