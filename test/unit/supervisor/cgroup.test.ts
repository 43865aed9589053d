import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { cgroupName, cgroupPids, cgroupWrites, chooseLayout, cpuMaxValue, cpuQuotaUs, createCgroup, joinCgroup, joinCgroupAsync, memoryLimitBytes, removeCgroupQuietly } from "../../../agent/supervisor/cgroup.js";
import { listChildren, readProcStat } from "../../../agent/supervisor/proc.js";
import { waitFor } from "../../cluster/harness/wait.js";
import { cgroupV1Writable } from "./fixture.js";

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

describe("cgroup membership", () => {
  const dirs: string[] = [];
  const procs: ChildProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      try {
        process.kill(-p.pid!, "SIGKILL");
      } catch {
        // gone already
      }
    }
    // Deepest first: a cgroup with a child cgroup cannot go.
    for (const d of dirs.splice(0).reverse()) await waitFor(() => removeCgroupQuietly({ kind: "v1", dirs: [d] }).length === 0, { timeoutMs: 5_000, what: `${d} to be removed` });
  });

  it("without limits, makes the cgroup and switches no controller on (v2: nothing written to any subtree_control)", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "berth-cgroot-"));
    try {
      await writeFile(path.join(root, "cgroup.controllers"), "cpu memory\n");
      const made = createCgroup("web-0-00000000", null, root);
      expect(made).toEqual({ ok: true, handle: { kind: "v2", dirs: [path.join(root, "berth", "web-0-00000000")] } });
      expect(existsSync(path.join(root, "cgroup.subtree_control"))).toBe(false);
      expect(existsSync(path.join(root, "berth", "cgroup.subtree_control"))).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it.skipIf(!cgroupV1Writable)("moves what the process forked before its own move, and finds members in cgroups made inside it (needs root and v1)", async () => {
    // Children forked before the move, as a shell's first lines can while the kernel waits to move it.
    const sh = spawn("sh", ["-c", "sleep 1000 & sleep 1000 & wait"], { detached: true, stdio: "ignore" });
    procs.push(sh);
    const pid = sh.pid!;
    await waitFor(() => listChildren(pid).length === 2, { timeoutMs: 5_000, what: "the shell's two children" });
    const name = `test-${process.pid}-${Date.now()}`;
    const made = createCgroup(name, null);
    if (!made.ok) throw new Error(made.reason);
    dirs.push(...made.handle.dirs);
    joinCgroup(made.handle, pid);
    const family = [pid, ...listChildren(pid)].sort((a, b) => a - b);
    expect(cgroupPids(made.handle)).toEqual(family);

    // A child moved into a cgroup of its own inside the run's (a service run as root may make one): still a member.
    const inner = path.join(made.handle.dirs[0]!, "inner");
    mkdirSync(inner);
    dirs.push(inner);
    writeFileSync(path.join(inner, "cgroup.procs"), String(family[1]));
    expect(readFileSync(path.join(made.handle.dirs[0]!, "cgroup.procs"), "utf8")).not.toContain(String(family[1]));
    expect(cgroupPids(made.handle)).toEqual(family);
  });

  it.skipIf(!cgroupV1Writable)("moves a process and its children off the main thread, and says when the process itself is gone (needs root and v1)", async () => {
    const sh = spawn("sh", ["-c", "sleep 1000 & wait"], { detached: true, stdio: "ignore" });
    procs.push(sh);
    const pid = sh.pid!;
    await waitFor(() => listChildren(pid).length === 1, { timeoutMs: 5_000, what: "the shell's child" });
    const made = createCgroup(`test-${process.pid}-${Date.now()}-async`, null);
    if (!made.ok) throw new Error(made.reason);
    dirs.push(...made.handle.dirs);
    // A pid whose start time is not the one read at spawn names another process by now: not moved.
    const startTime = readProcStat(pid)!.startTime;
    await expect(joinCgroupAsync(made.handle, pid, startTime + 1)).rejects.toMatchObject({ code: "ESRCH" });
    expect(cgroupPids(made.handle)).toEqual([]);
    await joinCgroupAsync(made.handle, pid, startTime);
    expect(cgroupPids(made.handle)).toEqual([pid, ...listChildren(pid)].sort((a, b) => a - b));

    const gone = spawn("true");
    await new Promise((resolve) => gone.once("exit", resolve));
    await expect(joinCgroupAsync(made.handle, gone.pid!)).rejects.toMatchObject({ code: "ESRCH" });
  });
});
