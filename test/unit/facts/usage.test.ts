import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { HostFacts } from "../../../shared/gen/berth/v1/HostFacts.js";
import type { Usage } from "../../../shared/gen/berth/v1/Usage.js";
import {
  DEFAULT_FACTS_REFRESH_MS,
  FactsCache,
  UsageSampler,
  cpuPercent,
  cpuTicks,
  diskUsage,
  memoryUsage,
  nodeOsMemory,
} from "../../../agent/facts/usage.js";
import type { UsageSource } from "../../../agent/facts/usage.js";
import { kvmMem } from "./fixtures/si.js";

afterEach(() => {
  vi.useRealTimers();
});

const times = (user: number, idle: number) => ({ times: { user, nice: 0, sys: 0, idle, irq: 0 } });

describe("cpu ticks and percent", () => {
  it("sums every CPU's busy and idle time", () => {
    expect(
      cpuTicks([
        { times: { user: 10, nice: 1, sys: 5, idle: 100, irq: 2 } },
        { times: { user: 20, nice: 0, sys: 5, idle: 50, irq: 0 } },
      ]),
    ).toStrictEqual({ busy: 43, total: 193, cpus: 2 });
    expect(cpuTicks([])).toBeUndefined();
  });

  it("is the busy share of the window, 0–100", () => {
    const a = { busy: 1_000, total: 10_000, cpus: 2 };
    expect(cpuPercent(a, { busy: 1_500, total: 11_000, cpus: 2 })).toBe(50);
    expect(cpuPercent(a, { busy: 1_000, total: 11_000, cpus: 2 })).toBe(0);
    expect(cpuPercent(a, { busy: 2_000, total: 11_000, cpus: 2 })).toBe(100);
    expect(cpuPercent(a, { busy: 1_333, total: 11_000, cpus: 2 })).toBe(33.3);
  });

  it("refuses windows too short to mean anything, and incomparable snapshots", () => {
    const a = { busy: 1_000, total: 10_000, cpus: 2 };
    expect(cpuPercent(a, { busy: 1_010, total: 10_020, cpus: 2 })).toBeUndefined();
    expect(cpuPercent(a, { busy: 1_500, total: 11_000, cpus: 4 })).toBeUndefined();
    expect(cpuPercent(a, { busy: 900, total: 11_000, cpus: 2 })).toBeUndefined();
  });
});

describe("memoryUsage", () => {
  it("uses active (total − MemAvailable), not used (which counts page cache)", () => {
    expect(memoryUsage(kvmMem)).toStrictEqual({ used: kvmMem.active, total: kvmMem.total });
  });

  it("falls back to total − available, then gives up", () => {
    expect(memoryUsage({ total: 100, available: 70 })).toStrictEqual({ used: 30, total: 100 });
    expect(memoryUsage({ total: 100, active: 500, available: 70 })).toStrictEqual({ used: 30, total: 100 });
    expect(memoryUsage({ total: 100 })).toBeUndefined();
    expect(memoryUsage({ total: 0, active: 0 })).toBeUndefined();
    expect(memoryUsage(null)).toBeUndefined();
  });

  it("node:os fallback", () => {
    expect(nodeOsMemory(100, 40)).toStrictEqual({ used: 60, total: 100 });
    expect(nodeOsMemory(0, 0)).toBeUndefined();
    expect(nodeOsMemory(100, 200)).toBeUndefined();
  });
});

describe("diskUsage", () => {
  it("counts like df: used = blocks − bfree", () => {
    expect(diskUsage({ type: 61267, bsize: 4096, blocks: 66053021, bfree: 60331036, bavail: 20875743 })).toStrictEqual({
      used: (66053021 - 60331036) * 4096,
      total: 66053021 * 4096,
    });
  });

  it("rejects nonsense", () => {
    expect(diskUsage({ bsize: 4096, blocks: 10, bfree: 11 })).toBeUndefined();
    expect(diskUsage({ bsize: 0, blocks: 10, bfree: 1 })).toBeUndefined();
    expect(diskUsage(undefined)).toBeUndefined();
  });
});

/** A controllable usage source: CPU times advance only when the test says so. */
function fakeSource() {
  let cpu = [times(0, 0), times(0, 0)];
  const calls = { mem: 0, statfs: 0 };
  let mem: () => Promise<unknown> = () => Promise.resolve(kvmMem);
  let statfs: () => Promise<unknown> = () => Promise.resolve({ bsize: 4096, blocks: 1000, bfree: 250 });
  const source: UsageSource = {
    loadavg: () => [0.5, 0.25, 0.125],
    cpus: () => cpu,
    totalmem: () => 1_000,
    freemem: () => 400,
    mem: () => {
      calls.mem++;
      return mem();
    },
    statfs: () => {
      calls.statfs++;
      return statfs();
    },
  };
  return {
    source,
    calls,
    setCpu: (c: typeof cpu) => {
      cpu = c;
    },
    setMem: (f: () => Promise<unknown>) => {
      mem = f;
    },
    setStatfs: (f: () => Promise<unknown>) => {
      statfs = f;
    },
  };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("UsageSampler (fake source)", () => {
  it("latest() before any sample is immediate, from node:os, touching nothing slow", () => {
    const f = fakeSource();
    const s = new UsageSampler({ dataDir: "/data", intervalMs: 1_000, source: f.source });
    const u: Usage = s.latest();
    expect(u).toStrictEqual({ load1: 0.5, load5: 0.25, load15: 0.125, memory_used_bytes: 600, memory_total_bytes: 1_000 });
    expect(f.calls).toStrictEqual({ mem: 0, statfs: 0 });
  });

  it("a sample uses si memory (active), statfs disk and the CPU window since the last sample", async () => {
    const f = fakeSource();
    let clock = 1_000;
    const s = new UsageSampler({ dataDir: "/data", intervalMs: 1_000, source: f.source, now: () => clock });
    f.setCpu([times(300, 700), times(100, 900)]); // 2 × 1000 ms, 20 % busy
    clock = 1_007;
    const u = await s.sample();
    expect(u).toStrictEqual({
      load1: 0.5,
      load5: 0.25,
      load15: 0.125,
      cpu_percent: 20,
      memory_used_bytes: kvmMem.active,
      memory_total_bytes: kvmMem.total,
      disk_used_bytes: 750 * 4096,
      disk_total_bytes: 1000 * 4096,
    });
    expect(s.latest()).toStrictEqual(u);
    expect(s.stats()).toMatchObject({ samples: 1, skipped: 0, lastSampleAt: 1_007 });

    // A window too short keeps the last figure and the old baseline…
    f.setCpu([times(305, 705), times(105, 905)]);
    expect((await s.sample()).cpu_percent).toBe(20);
    // …so the next window runs from that baseline: 1000 ms busy of 2000 ms.
    f.setCpu([times(1000, 1000), times(400, 1600)]);
    expect((await s.sample()).cpu_percent).toBe(50);
  });

  it("a failing part falls back: node:os memory, last known disk", async () => {
    const f = fakeSource();
    const s = new UsageSampler({ dataDir: "/data", intervalMs: 1_000, source: f.source });
    await s.sample();
    f.setMem(() => Promise.reject(new Error("no si")));
    f.setStatfs(() => Promise.reject(new Error("EIO")));
    const u = await s.sample();
    expect(u.memory_used_bytes).toBe(600);
    expect(u.memory_total_bytes).toBe(1_000);
    expect(u.disk_total_bytes).toBe(1000 * 4096);
  });

  it("never overlaps: ticks are skipped while a sample is still running", async () => {
    const f = fakeSource();
    const gate = deferred<unknown>();
    f.setMem(() => gate.promise);
    const s = new UsageSampler({ dataDir: "/data", intervalMs: 5, timeoutMs: 60_000, source: f.source });
    s.start();
    try {
      await vi.waitFor(() => expect(s.stats().skipped).toBeGreaterThanOrEqual(3), { timeout: 5_000, interval: 5 });
      expect(f.calls.mem).toBe(1);
      expect(f.calls.statfs).toBe(1);
      expect(s.stats().samples).toBe(0);
      gate.resolve(kvmMem);
      await vi.waitFor(() => expect(s.stats().samples).toBeGreaterThanOrEqual(1), { timeout: 5_000, interval: 5 });
    } finally {
      s.stop();
    }
  });

  it("a hung part times out, and is not called again while it hangs", async () => {
    const f = fakeSource();
    f.setStatfs(() => new Promise<unknown>(() => undefined)); // a dead NFS mount
    const s = new UsageSampler({ dataDir: "/nfs", intervalMs: 1_000, timeoutMs: 20, source: f.source });
    const first = await s.sample();
    expect(first.disk_total_bytes).toBeUndefined();
    expect(first.memory_total_bytes).toBe(kvmMem.total);
    await s.sample();
    await s.sample();
    expect(f.calls.statfs).toBe(1);
    expect(f.calls.mem).toBe(3);
  });

  it("sample() joins a sample already running", async () => {
    const f = fakeSource();
    const s = new UsageSampler({ dataDir: "/data", intervalMs: 1_000, source: f.source });
    const [a, b] = await Promise.all([s.sample(), s.sample()]);
    expect(a).toStrictEqual(b);
    expect(f.calls.mem).toBe(1);
  });

  it("start() samples at once and every interval; stop() clears its timer", async () => {
    vi.useFakeTimers();
    const f = fakeSource();
    const s = new UsageSampler({ dataDir: "/data", intervalMs: 1_000, source: f.source });
    s.start();
    s.start(); // idempotent: still one timer
    await vi.advanceTimersByTimeAsync(3_500);
    expect(f.calls.mem).toBe(4);
    s.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(f.calls.mem).toBe(4);
  });

  it("rejects a non-positive interval", () => {
    expect(() => new UsageSampler({ dataDir: "/", intervalMs: 0 })).toThrow(RangeError);
  });
});

describe("UsageSampler on this machine", () => {
  it("latest() is immediate, then real samples arrive after start()", async () => {
    const s = new UsageSampler({ dataDir: tmpdir(), intervalMs: 100 });
    const t0 = performance.now();
    const cheap = s.latest();
    expect(performance.now() - t0).toBeLessThan(50);
    expect(cheap.memory_total_bytes).toBeGreaterThan(0);
    expect(cheap.disk_total_bytes).toBeUndefined();

    s.start();
    try {
      // The first sample is taken at once; CPU % needs a window of >= 100 ms per CPU.
      await vi.waitFor(
        () => {
          const u = s.latest();
          expect(u.disk_total_bytes).toBeGreaterThan(0);
          expect(u.cpu_percent).toBeDefined();
        },
        { timeout: 10_000, interval: 20 },
      );
      const u = s.latest();
      expect(u.cpu_percent).toBeGreaterThanOrEqual(0);
      expect(u.cpu_percent).toBeLessThanOrEqual(100);
      expect(u.disk_used_bytes).toBeGreaterThan(0);
      expect(Number(u.disk_used_bytes)).toBeLessThanOrEqual(Number(u.disk_total_bytes));
      expect(u.memory_used_bytes).toBeGreaterThan(0);
      expect(Number(u.memory_used_bytes)).toBeLessThanOrEqual(Number(u.memory_total_bytes));
      expect(u.load1).toBeGreaterThanOrEqual(0);
      expect(s.stats().lastDurationMs).toBeLessThan(5_000);
    } finally {
      s.stop();
    }
  });

  it("leaves nothing that keeps the process alive", async () => {
    const script = fileURLToPath(new URL("./fixtures/sampler-exit.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`child did not exit: ${err}`));
      }, 15_000);
      child.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(err).toBe("");
    expect(code).toBe(0);
    const usage: unknown = JSON.parse(out);
    expect(usage).toMatchObject({ disk_total_bytes: expect.any(Number) as unknown });
  });
});

describe("FactsCache", () => {
  const facts = (n: number): HostFacts => ({ hostname: `h${n}`, agent_version: "x" });

  it("is empty until the first collection, then serves it without waiting", async () => {
    let n = 0;
    const cache = new FactsCache({ agentVersion: "x", collect: () => Promise.resolve(facts(++n)) });
    expect(cache.current()).toBeUndefined();
    cache.start();
    try {
      await vi.waitFor(() => expect(cache.current()).toStrictEqual(facts(1)), { timeout: 5_000, interval: 5 });
    } finally {
      cache.stop();
    }
  });

  it("refresh() joins a collection already running", async () => {
    let n = 0;
    const gate = deferred<undefined>();
    const cache = new FactsCache({
      agentVersion: "x",
      collect: async () => {
        n++;
        await gate.promise;
        return facts(n);
      },
    });
    const a = cache.refresh();
    const b = cache.refresh();
    gate.resolve(undefined);
    expect(await a).toStrictEqual(facts(1));
    expect(await b).toStrictEqual(facts(1));
    expect(n).toBe(1);
    expect(await cache.refresh()).toStrictEqual(facts(2));
  });

  it("refreshes every refreshMs; a failed refresh keeps the last facts; stop() clears the timer", async () => {
    vi.useFakeTimers();
    let n = 0;
    const errors: unknown[] = [];
    const cache = new FactsCache({
      agentVersion: "x",
      refreshMs: 60_000,
      collect: () => (++n === 2 ? Promise.reject(new Error("boom")) : Promise.resolve(facts(n))),
      onError: (e) => errors.push(e),
    });
    cache.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(cache.current()).toStrictEqual(facts(1));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(errors).toHaveLength(1);
    expect(cache.current()).toStrictEqual(facts(1));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(cache.current()).toStrictEqual(facts(3));
    cache.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(n).toBe(3);
  });

  it("defaults to collectFacts every 10 minutes", async () => {
    expect(DEFAULT_FACTS_REFRESH_MS).toBe(600_000);
    const cache = new FactsCache({ agentVersion: "9.9.9" });
    const f = await cache.refresh();
    expect(f.agent_version).toBe("9.9.9");
    expect(cache.current()).toBe(f);
  });
});
