/**
 * Issue 2 on a real topology: hosts in their own network namespaces join a real
 * controller over mutual TLS, report facts and heartbeats, are declared down when
 * killed or cut off and come back; the controller survives kill -9 and an agent
 * restart keeps its identity.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Cluster, type HostJson } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { tearDownWith } from "./harness/teardown.js";

const TTL_MS = 3000;

describe("foundation: a fleet on network namespaces", () => {
  let c: Cluster;
  let ids: string[] = [];

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 3, ttl: "3s", heartbeat: "500ms" });
    ids = await Promise.all([1, 2, 3].map((i) => c.hostIdOf(i)));
  });
  tearDownWith(() => c);

  const byId = (hs: HostJson[], id: string): HostJson => {
    const h = hs.find((x) => x.id === id);
    if (!h) throw new Error(`host ${id} not listed`);
    return h;
  };

  it("every host joined once, with its own address, labels and facts", async () => {
    if (c.topo.mode === "loopback") console.warn(`netns unavailable: ${c.topo.skipReason}`);
    const hs = await c.hosts();
    expect(hs).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    for (let i = 1; i <= 3; i++) {
      const h = byId(hs, ids[i - 1]!);
      expect(h.status).toBe("ready");
      expect(h.address).toBe(c.topo.hostAddr(i));
      expect(h.labels).toEqual({ dc: `dc${((i - 1) % 2) + 1}` });
      expect(h.facts.hostname).not.toBe("");
      expect(h.facts.cpu_cores).toBeGreaterThan(0);
      expect(h.facts.memory_total_bytes).toBeGreaterThan(0);
      expect(h.facts.filesystems.length).toBeGreaterThan(0);
      expect(h.facts.interfaces.length).toBeGreaterThan(0);
      expect(typeof h.facts.virtual).toBe("boolean");
      if (h.facts.virtual) expect(typeof h.facts.hypervisor).toBe("string");
    }
    const joined = (await c.events()).filter((e) => e.type === "host.joined");
    expect(joined.map((e) => e.host).sort()).toEqual([...ids].sort());
  });

  it("heartbeats keep arriving with usage", async () => {
    const first = await c.hosts();
    const later = await c.waitForHosts(
      (hs) => hs.every((h) => h.last_heartbeat_ms > byId(first, h.id).last_heartbeat_ms && h.usage !== null),
      "a newer heartbeat with usage from every host",
    );
    for (const h of later) {
      expect(h.last_heartbeat_age_ms).toBeLessThan(TTL_MS);
      expect(h.usage!.disk_total_bytes).toBeGreaterThan(0);
      expect(h.usage!.cpu_percent).toBeGreaterThanOrEqual(0);
    }
  });

  it("`berth host show` prints every fact, by id prefix", async () => {
    const r = await c.cli(["host", "show", ids[0]!.slice(0, 6)]);
    expect(r.code, r.stderr).toBe(0);
    for (const field of ["hostname:", "kernel:", "machine:", "cpu:", "memory:", "filesystems:", "interfaces:"]) expect(r.stdout).toContain(field);
  });

  it("a killed host is down within TTL + 1 s, and back with the same id when its agent restarts", async () => {
    const id = ids[1]!;
    const killedAt = Date.now();
    await c.topo.killHost(2);
    const down = await c.waitForEvent((e) => e.type === "host.down" && e.host === id && e.time_ms >= killedAt, "host 2 down");
    expect(down.time_ms - killedAt).toBeLessThanOrEqual(TTL_MS + 1000);
    expect(byId(await c.hosts(), id).status).toBe("down");
    // The other hosts are untouched.
    expect((await c.hosts()).filter((h) => h.status === "ready")).toHaveLength(2);

    c.startAgent(2); // no token: it reconnects with the certificate in its data dir
    await c.waitForEvent((e) => e.type === "host.back" && e.host === id, "host 2 back");
    const hs = await c.hosts();
    expect(hs).toHaveLength(3);
    expect(byId(hs, id).status).toBe("ready");
    expect(await c.hostIdOf(2)).toBe(id);
  });

  it("an agent restarted cleanly is the same host, never a new one", async () => {
    await c.stopAgent(3);
    c.startAgent(3);
    await c.waitForHosts((hs) => byId(hs, ids[2]!).connected && byId(hs, ids[2]!).status === "ready", "host 3 reconnected");
    expect(await c.hosts()).toHaveLength(3);
    expect((await c.events()).filter((e) => e.type === "host.joined")).toHaveLength(3);
  });

  it.skipIf(process.getuid?.() !== 0)("a partitioned host goes down and comes back when the link heals", async () => {
    if (c.topo.mode !== "netns") return; // loopback fallback: partitions need namespaces (skipReason printed above)
    const id = ids[0]!;
    const cutAt = Date.now();
    await c.topo.partition(1);
    const down = await c.waitForEvent((e) => e.type === "host.down" && e.host === id && e.time_ms >= cutAt, "host 1 down after partition");
    expect(down.time_ms - cutAt).toBeLessThanOrEqual(TTL_MS + 1000);
    await c.topo.heal(1);
    await c.waitForEvent((e) => e.type === "host.back" && e.host === id && e.time_ms > down.time_ms, "host 1 back after heal");
    expect(byId(await c.hosts(), id).status).toBe("ready");
  });

  it("a controller killed with -9 loses nothing, and every agent comes back by itself without joining again", async () => {
    const cordon = await c.cli(["cordon", ids[0]!]);
    expect(cordon.code, cordon.stderr).toBe(0);
    const before = await c.events();
    await c.killController();
    const restartedAt = Date.now();
    await c.startController();
    const hs = await c.waitForHosts((x) => x.length === 3 && x.every((h) => h.connected && h.status !== "down" && h.status !== "joining"), "all hosts reconnected");
    expect(hs.map((h) => h.id).sort()).toEqual([...ids].sort());
    expect(byId(hs, ids[0]!).status).toBe("cordoned");
    const after = await c.events();
    // Everything acknowledged before the kill is still there.
    expect(after.slice(0, before.length).map((e) => e.seq)).toEqual(before.map((e) => e.seq));
    // No new joins, and the restart itself declared no host down.
    expect(after.filter((e) => e.type === "host.joined")).toHaveLength(3);
    expect(after.filter((e) => e.type === "host.down" && e.time_ms >= restartedAt)).toEqual([]);
  });

  it("`berth events -f` follows new events as they happen, and can filter by host", async () => {
    const { recentOutput } = await import("./harness/topology.js");
    const { BERTH_MAIN } = await import("./harness/cluster.js");
    const follower = c.topo.spawn(0, [process.execPath, BERTH_MAIN, "events", "-f", "-n", "1", "-o", "json", "--host", ids[0]!], { env: c.env() });
    try {
      // The follower prints the newest matching event first: wait for that, then act.
      await waitFor(() => recentOutput(follower).stdout.trim().length > 0, { timeoutMs: 15_000, what: "the follower's first line" });
      const r = await c.cli(["uncordon", ids[0]!]);
      expect(r.code, r.stderr).toBe(0);
      await c.cli(["cordon", ids[1]!]); // another host: filtered out
      const lines = await waitFor(
        () => {
          const ls = recentOutput(follower).stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; host: string });
          return ls.some((e) => e.type === "host.uncordoned") ? ls : undefined;
        },
        { timeoutMs: 15_000, what: "host.uncordoned on the follower" },
      );
      expect(lines.every((e) => e.host === ids[0])).toBe(true);
    } finally {
      follower.kill("SIGTERM");
    }
  });
});
