import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HostIdSet } from "../../../controller/scheduler/host-id-set.js";
import { inst } from "./fixtures.js";

describe("HostIdSet", () => {
  it("answers like a Set<string> of the added instances' hosts, and reports a host added twice", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 200 }), fc.array(fc.string({ maxLength: 4 })), (hostIds, probes) => {
        const instances = hostIds.map((h, k) => inst("s", k, h));
        const set = new HostIdSet(instances);
        const ref = new Set<string>();
        instances.forEach((_, k) => {
          expect(set.add(k)).toBe(!ref.has(hostIds[k]!));
          ref.add(hostIds[k]!);
        });
        for (const p of [...probes, ...hostIds]) expect(set.has(p)).toBe(ref.has(p));
      }),
    );
  });

  it("works for an empty instance list", () => {
    expect(new HostIdSet([]).has("h1")).toBe(false);
  });
});
