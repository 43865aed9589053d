import { describe, expect, it } from "vitest";
import { UsageHistory } from "../../../controller/ui/usage-history.js";

const u = (cpu: number) => ({ cpu_percent: cpu, memory_used_bytes: 1, memory_total_bytes: 4, disk_used_bytes: 0, disk_total_bytes: 0 });

describe("usage history for sparklines", () => {
  it("keeps the newest samples per host as shares of 100, and forgets hosts that are gone", () => {
    const h = new UsageHistory(2);
    h.record(1, new Map([["a", u(10)], ["b", null]]));
    h.record(2, new Map([["a", u(20)], ["b", u(5)]]));
    h.record(3, new Map([["a", u(30)]]));
    expect(h.of("a")).toEqual([{ atMs: 2, cpu: 20, mem: 25, disk: 0 }, { atMs: 3, cpu: 30, mem: 25, disk: 0 }]);
    expect(h.of("b")).toEqual([]);
  });
});
