import { describe, expect, it } from "vitest";
import { copyPhase } from "../../../controller/rollout/phase.js";

describe("copyPhase", () => {
  const at = (state: Parameters<typeof copyPhase>[0]["state"], o: { healthySinceMs?: number | null; drainingSinceMs?: number | null } = {}): string =>
    copyPhase({ state, healthySinceMs: o.healthySinceMs ?? null, drainingSinceMs: o.drainingSinceMs ?? null }, 1000, 10_000);

  it("counts a copy in service only after minHealthyTime of health", () => {
    expect(at("healthy", { healthySinceMs: 9000 })).toBe("in-service");
    expect(at("healthy", { healthySinceMs: 9001 })).toBe("warming");
    expect(at("healthy")).toBe("warming");
  });

  it("keeps a drained copy out of service until it stops, whatever its health", () => {
    expect(at("healthy", { healthySinceMs: 0, drainingSinceMs: 9500 })).toBe("draining");
    expect(at("stopping", { drainingSinceMs: 9500 })).toBe("draining");
    expect(at("stopped", { drainingSinceMs: 9500 })).toBe("stopped");
    expect(at("failed", { drainingSinceMs: 9500 })).toBe("failed");
  });

  it("maps the instance lifecycle", () => {
    expect(["pending", "fetching", "installing", "starting", "unhealthy", "stopping", "stopped", "failed", "lost"].map((s) => at(s as Parameters<typeof copyPhase>[0]["state"]))).toEqual([
      "pending",
      "starting",
      "starting",
      "starting",
      "unhealthy",
      "stopped",
      "stopped",
      "failed",
      "lost",
    ]);
  });
});
