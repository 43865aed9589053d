import { describe, expect, it } from "vitest";
import { cgroupName, cgroupWrites, chooseLayout, cpuMaxValue, cpuQuotaUs, memoryLimitBytes } from "../../../agent/supervisor/cgroup.js";

describe("cgroup values", () => {
  it("turns CPUs into a CFS quota of the 100 ms period, with the kernel's 1 ms floor; ≤ 0 is no limit", () => {
    expect(cpuQuotaUs(0.5)).toBe(50_000);
    expect(cpuQuotaUs(2)).toBe(200_000);
    expect(cpuQuotaUs(0.001)).toBe(1_000);
    expect(cpuQuotaUs(0)).toBeNull();
    expect(cpuQuotaUs(Number.NaN)).toBeNull();
    expect(cpuMaxValue(1.5)).toBe("150000 100000");
    expect(cpuMaxValue(0)).toBe("max 100000");
  });

  it("turns MiB into bytes; ≤ 0 is no limit", () => {
    expect(memoryLimitBytes(512)).toBe(536_870_912);
    expect(memoryLimitBytes(0)).toBeNull();
  });

  it("chooses v2 when cgroup.controllers exists, v1 when cpu and memory controllers do, else none", () => {
    const has = (files: string[]) => (p: string) => files.includes(p);
    expect(chooseLayout("/cg", "web-1", has(["/cg/cgroup.controllers"]))).toEqual({
      kind: "v2",
      root: "/cg",
      parent: "/cg/berth",
      dir: "/cg/berth/web-1",
    });
    expect(chooseLayout("/cg", "web-1", has(["/cg/cpu/cpu.cfs_quota_us", "/cg/memory/memory.limit_in_bytes"]))).toEqual({
      kind: "v1",
      cpuDir: "/cg/cpu/berth/web-1",
      memoryDir: "/cg/memory/berth/web-1",
    });
    expect(chooseLayout("/cg", "web-1", has(["/cg/cpu/cpu.cfs_quota_us"]))).toMatchObject({ kind: "none" });
  });

  it("writes v1 period before quota, and v2 delegates the controllers before setting the limits", () => {
    expect(cgroupWrites({ kind: "v1", cpuDir: "/c", memoryDir: "/m" }, { cpu: 0.25, memoryMb: 64 })).toEqual([
      { file: "/c/cpu.cfs_period_us", value: "100000" },
      { file: "/c/cpu.cfs_quota_us", value: "25000" },
      { file: "/m/memory.limit_in_bytes", value: "67108864" },
    ]);
    expect(cgroupWrites({ kind: "v1", cpuDir: "/c", memoryDir: "/m" }, { cpu: 0, memoryMb: 0 }).map((w) => w.value)).toEqual([
      "100000",
      "-1",
      "-1",
    ]);
    expect(cgroupWrites({ kind: "v2", root: "/cg", parent: "/cg/berth", dir: "/cg/berth/x" }, { cpu: 1, memoryMb: 0 })).toEqual([
      { file: "/cg/cgroup.subtree_control", value: "+cpu +memory" },
      { file: "/cg/berth/cgroup.subtree_control", value: "+cpu +memory" },
      { file: "/cg/berth/x/cpu.max", value: "100000 100000" },
      { file: "/cg/berth/x/memory.max", value: "max" },
    ]);
  });

  it("names the cgroup after the instance and the agent's state file: stable per agent, distinct between agents", () => {
    const a = cgroupName("web-0", "/var/lib/berth/h1/instance/web-0.process.json");
    expect(a).toMatch(/^web-0-[0-9a-f]{8}$/);
    expect(cgroupName("web-0", "/var/lib/berth/h1/instance/web-0.process.json")).toBe(a);
    expect(cgroupName("web-0", "/var/lib/berth/h2/instance/web-0.process.json")).not.toBe(a);
  });
});
