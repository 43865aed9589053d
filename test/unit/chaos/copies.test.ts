/** The chaos suite's duplicate rules (test/cluster/harness/copies.ts): what counts as two copies too many. */
import { describe, expect, it } from "vitest";
import { judgeCopies, type Copy, type ServiceRules } from "../../cluster/harness/copies.js";

const rules = new Map<string, ServiceRules>([
  ["web", { surge: true, fenced: false }],
  ["api", { surge: false, fenced: false }],
  ["solo", { surge: false, fenced: true }],
]);
let pid = 100;
const copy = (service: string, slot: number, epoch: number, host: number): Copy => ({ pid: pid++, host, service, instance: `${service}-${slot}`, epoch });
const calm = (): boolean => false;
const kinds = (cs: Copy[], disturbed: (h: number) => boolean = calm): string[] => judgeCopies(cs, rules, disturbed).duplicates.map((d) => d.kind);

describe("judgeCopies", () => {
  it("one copy per slot, one per host: nothing to report", () => {
    expect(judgeCopies([copy("web", 0, 1, 1), copy("web", 1, 1, 2), copy("api", 0, 3, 3), copy("solo", 0, 1, 4)], rules, calm)).toEqual({ duplicates: [], allowed: { surge: 0, stale: 0 } });
  });

  it("two processes of one epoch are a duplicate wherever they run, disturbed or not", () => {
    expect(kinds([copy("api", 0, 2, 1), copy("api", 0, 2, 2)], () => true)).toContain("same-epoch");
  });

  it("two assignments on one host break one-instance-per-host, also of one slot", () => {
    expect(kinds([copy("web", 0, 1, 1), copy("api", 0, 1, 1)])).toEqual(["two-on-host"]);
    expect(kinds([copy("api", 0, 1, 1), copy("api", 0, 2, 1)])).toEqual(["two-on-host"]);
  });

  it("a surge copy (maxSurge > 0, next epoch, another host) is allowed and counted", () => {
    const j = judgeCopies([copy("web", 0, 1, 1), copy("web", 0, 2, 2)], rules, calm);
    expect(j).toEqual({ duplicates: [], allowed: { surge: 1, stale: 0 } });
  });

  it("without surge, a slot on two calm hosts is a duplicate; with one host cut off it is a stale copy", () => {
    expect(kinds([copy("api", 0, 1, 1), copy("api", 0, 2, 2)])).toEqual(["slot-on-two-hosts"]);
    const j = judgeCopies([copy("api", 0, 1, 1), copy("api", 0, 2, 2)], rules, (h) => h === 1);
    expect(j).toEqual({ duplicates: [], allowed: { surge: 0, stale: 1 } });
  });

  it("a third copy of a surging slot needs a disturbed host to explain it", () => {
    const three = (): Copy[] => [copy("web", 0, 1, 1), copy("web", 0, 2, 2), copy("web", 0, 3, 3)];
    expect(kinds(three())).toEqual(["slot-on-two-hosts"]);
    expect(kinds(three(), (h) => h === 1)).toEqual([]);
  });

  it("a self-fenced singleton twice is a violation even when its old host is cut off", () => {
    expect(kinds([copy("solo", 0, 1, 1), copy("solo", 0, 2, 2)], () => true)).toEqual(["fenced-twice"]);
  });
});
