// The topology layer itself: nodes can talk over the test subnet, partition/heal cut and
// restore exactly one node, killHost kills, addHost joins, destroy and cleanupLeftovers
// leave nothing behind. Runs in netns mode as root; as a normal user the same cases run
// on loopback and the partition case is skipped with the topology's reason.

import { spawn, execFileSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanupLeftovers, createTopology, recentOutput } from "./harness/topology.js";
import type { Topology } from "./harness/topology.js";
import { waitFor } from "./harness/wait.js";

const NODE = process.execPath;
const isRoot = process.getuid?.() === 0;

// Echoes every connection back to itself; prints "listening" once bound.
const ECHO_SERVER = `
const [host, port] = process.argv.slice(1);
require("net").createServer((s) => s.pipe(s)).listen(Number(port), host, () => console.log("listening"));
`;

// Connects, sends a message, prints the echo. Its own connect/answer timeout so a
// partitioned peer fails fast instead of waiting for the kernel's SYN retries.
const ECHO_CLIENT = `
const [host, port, msg, ms] = process.argv.slice(1);
const s = require("net").connect({ host, port: Number(port) });
setTimeout(() => { console.error("timeout"); process.exit(2); }, Number(ms));
s.on("connect", () => s.write(msg));
s.on("data", (d) => { process.stdout.write(d); process.exit(0); });
s.on("error", (e) => { console.error(e.code ?? e.message); process.exit(3); });
`;

const PORT = 7400;

async function startEcho(topo: Topology, i: number, port = PORT): Promise<ChildProcess> {
  const server = topo.spawn(i, [NODE, "-e", ECHO_SERVER, topo.hostAddr(i), String(port)]);
  await waitFor(() => recentOutput(server).stdout.includes("listening") || undefined, {
    timeoutMs: 15_000,
    what: `echo server on node ${i} to listen (stderr: ${recentOutput(server).stderr})`,
  });
  return server;
}

async function echo(topo: Topology, from: number, to: number, port = PORT, timeoutMs = 5_000) {
  const msg = `hello-from-${from}-to-${to}`;
  const r = await topo.run(from, [NODE, "-e", ECHO_CLIENT, topo.hostAddr(to), String(port), msg, String(timeoutMs)], {
    timeoutMs: 15_000,
  });
  return { ok: r.code === 0 && r.stdout === msg, ...r };
}

/** The signal a child died of; 'exit' may have fired already, so check before listening. */
async function exitSignal(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
  return child.signalCode;
}

function ourNames(prefix: string): string[] {
  // Names are prefix + role letter, so `bt123` must not match `bt1234...`.
  const mine = new RegExp(`^${prefix}(?!\\d)`);
  const ns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "");
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? "");
  return [...ns, ...links].filter((n) => mine.test(n));
}

describe("topology (namespaces when root, else loopback)", () => {
  let topo: Topology | undefined;
  const t = (): Topology => {
    if (!topo) throw new Error("createTopology failed in beforeAll");
    return topo;
  };

  beforeAll(async () => {
    topo = await createTopology({ hosts: 3 });
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  it("has one address per node and the expected mode", () => {
    expect(t().mode).toBe(isRoot ? "netns" : "loopback");
    expect(t().hostCount).toBe(3);
    const addrs = [t().controllerAddr, t().hostAddr(1), t().hostAddr(2), t().hostAddr(3)];
    expect(new Set(addrs).size).toBe(4);
    expect(() => t().hostAddr(4)).toThrow(/no node 4/);
  });

  it("echo server on host 1 answers host 2 and the controller", async () => {
    await startEcho(t(), 1);
    expect((await echo(t(), 2, 1)).ok).toBe(true);
    expect((await echo(t(), 0, 1)).ok).toBe(true);
  });

  it("partition cuts host 1 off and heal restores it", async (ctx) => {
    if (t().mode !== "netns") ctx.skip(t().skipReason);
    const port = PORT + 1;
    await startEcho(t(), 1, port);
    expect((await echo(t(), 2, 1, port)).ok).toBe(true);

    await t().partition(1);
    // 1 s is plenty on a healthy link (sub-ms) and keeps the expected failure quick.
    const cut = await echo(t(), 2, 1, port, 1_000);
    expect(cut.ok).toBe(false);
    expect(cut.code).not.toBe(0);
    // Only host 1 is cut: host 2 still reaches the controller.
    await startEcho(t(), 0, port);
    expect((await echo(t(), 2, 0, port)).ok).toBe(true);

    await t().heal(1);
    await waitFor(async () => (await echo(t(), 2, 1, port)).ok || undefined, {
      timeoutMs: 20_000,
      what: "host 2 to reach host 1 after heal",
    });
  });

  it("killHost(1) SIGKILLs the server and everything else on host 1", async () => {
    const port = PORT + 2;
    const server = await startEcho(t(), 1, port);
    // A second process in its own group that the topology did not start directly (in
    // netns mode only `ip netns pids` finds it).
    const other = t().spawn(1, [NODE, "-e", "setInterval(() => {}, 1e9)"]);
    await t().killHost(1);
    expect(server.signalCode).toBe("SIGKILL");
    expect(other.signalCode).toBe("SIGKILL");
    if (t().mode === "netns") {
      expect(execFileSync("ip", ["netns", "pids", `${t().prefix}h1`], { encoding: "utf8" }).trim()).toBe("");
    }
    // Other hosts are untouched, and host 1 can run things again.
    const s2 = await startEcho(t(), 1, port);
    expect((await echo(t(), 0, 1, port)).ok).toBe(true);
    s2.kill("SIGKILL");
  });

  it("addHost() gives a 4th host that reaches the controller", async () => {
    const port = PORT + 3;
    await startEcho(t(), 0, port);
    const i = await t().addHost();
    expect(i).toBe(4);
    expect(t().hostCount).toBe(4);
    expect((await echo(t(), i, 0, port)).ok).toBe(true);
  });

  it("destroy() removes every namespace and link, kills everything, and is idempotent", async () => {
    const topo = t();
    const survivor = topo.spawn(2, [NODE, "-e", "setInterval(() => {}, 1e9)"]);
    await Promise.all([topo.destroy(), topo.destroy()]);
    await topo.destroy();
    expect(survivor.exitCode !== null || survivor.signalCode !== null).toBe(true);
    if (isRoot) expect(ourNames(topo.prefix)).toEqual([]);
    expect(() => topo.spawn(1, ["true"])).toThrow(/destroyed/);
  });
});

describe("loopback fallback", () => {
  let topo: Topology | undefined;

  afterEach(async () => {
    await topo?.destroy();
  });

  it("works without namespaces and refuses to partition", async () => {
    topo = await createTopology({ hosts: 2, mode: "loopback" });
    expect(topo.mode).toBe("loopback");
    expect(topo.skipReason).toMatch(/network namespaces/);
    expect(topo.hostAddr(1)).toMatch(/^127\./);
    const server = await startEcho(topo, 1);
    expect((await echo(topo, 2, 1)).ok).toBe(true);
    await expect(topo.partition(1)).rejects.toThrow(/needs network namespaces/);
    await expect(topo.heal(1)).rejects.toThrow(/needs network namespaces/);
    await topo.killHost(1);
    expect(server.signalCode).toBe("SIGKILL");
    const other = topo.spawn(2, [NODE, "-e", "setInterval(() => {}, 1e9)"]);
    await topo.destroy();
    expect(other.signalCode).toBe("SIGKILL");
    if (isRoot) expect(ourNames(topo.prefix)).toEqual([]);
  });
});

describe("cleanupLeftovers", () => {
  const made: string[] = [];
  const procs: ChildProcess[] = [];

  afterEach(() => {
    for (const p of procs.splice(0)) p.kill("SIGKILL");
    for (const ns of made.splice(0)) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already removed (the expected case)
      }
    }
  });

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "EPERM";
    }
  }

  function deadPid(): number {
    // A random free pid in the upper half of the pid space: pids are handed out upwards, so
    // that range is the least likely to be reused before the assertion, and randomness
    // keeps two concurrent runs of this test from picking the same one.
    const max = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
    for (let tries = 0; tries < 1000; tries++) {
      const p = Math.floor(max / 2 + Math.random() * (max / 2 - 1));
      if (!alive(p)) return p;
    }
    throw new Error("no free pid");
  }

  function idle(argv: string[], env?: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(argv[0] ?? NODE, [...argv.slice(1), "-e", "setInterval(() => {}, 1e9)"], {
      stdio: "ignore",
      env: { ...process.env, ...env },
    });
    procs.push(child);
    return child;
  }

  const ip = (...args: string[]): void => {
    execFileSync("ip", args, { stdio: "pipe" });
  };

  it("removes namespaces (and kills processes) of dead pids only", async (ctx) => {
    if (!isRoot) ctx.skip("needs root to create namespaces");
    const dead = deadPid();
    const [br, h1] = [`bt${dead}br`, `bt${dead}h1`];
    made.push(br, h1);
    ip("netns", "add", br);
    ip("netns", "add", h1);
    ip("-n", br, "link", "add", `bt${dead}br`, "type", "bridge");
    ip("-n", br, "link", "add", `bt${dead}b1`, "type", "veth", "peer", "name", h1, "netns", h1);
    const inside = idle(["ip", "netns", "exec", h1, NODE]);
    await waitFor(() => execFileSync("ip", ["netns", "pids", h1], { encoding: "utf8" }).trim() !== "" || undefined, {
      timeoutMs: 10_000,
      what: "process inside the leftover namespace",
    });

    // A namespace of a live "run" (a process of ours) must survive.
    const liveOwner = idle([NODE]);
    if (liveOwner.pid === undefined) throw new Error("spawn failed");
    const kept = `bt${liveOwner.pid}c`;
    made.push(kept);
    ip("netns", "add", kept);

    // A loopback-mode stray of the dead run, found by its environment marker.
    const stray = idle([NODE], { BERTH_TOPOLOGY_OWNER: String(dead) });

    await cleanupLeftovers();

    const names = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    expect(names).not.toMatch(new RegExp(`^bt${dead}(?!\\d)`, "m"));
    expect(names).toMatch(new RegExp(`^${kept}\\b`, "m"));
    expect(await exitSignal(inside)).toBe("SIGKILL");
    expect(await exitSignal(stray)).toBe("SIGKILL");
    expect(liveOwner.exitCode).toBeNull();
  });
});
