/**
 * `npm run bench:failover -- --trials 10 [--ttl 5s] [--heartbeat 1s]`
 *
 * How long from a host's death to its instance serving again elsewhere? On the
 * cluster harness (a network namespace per host, as root; 127.x otherwise):
 * a controller, 4 agents, a one-instance service that starts in well under a
 * second. Each trial SIGKILLs everything on the instance's host and measures
 *   detection  kill → the controller's host.down event
 *   restored   kill → the replacement's instance.healthy event
 * then brings the host back as a spare for the next trial. Times are the
 * controller's event timestamps against the kill time (one machine, one clock).
 *
 * `npm run bench:failover -- --leader --trials 10 [--lease 3s] [--ttl 3s] [--heartbeat 500ms]`
 *
 * The same with a controller group (issue 11): 3 controllers on a 3-member etcd
 * (test/cluster/harness/group.ts), 4 agents given every member. Each trial SIGKILLs
 * the leader and, at the same moment, the instance's host, and measures
 *   new leader  kill → the new leader's first decision (its guarded write of who
 *               leads, `leader_since_ms` of `berth controllers`)
 *   detection   kill → host.down, decided by the new leader after its grace
 *   restored    kill → the replacement's instance.healthy
 * then restarts the killed member and the host for the next trial.
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseDurationMs } from "../shared/duration.js";
import { Cluster, ROOT, type EventJson } from "../test/cluster/harness/cluster.js";
import { Group } from "../test/cluster/harness/group.js";
import { waitFor } from "../test/cluster/harness/wait.js";
import { arg } from "./args.js";

const leaderMode = process.argv.includes("--leader");
const trials = Number(arg("trials", "10"));
const ttl = arg("ttl", leaderMode ? "3s" : "5s");
const heartbeat = arg("heartbeat", leaderMode ? "500ms" : "1s");
const lease = arg("lease", "3s");
if (!Number.isInteger(trials) || trials < 1 || trials > 100) throw new Error("--trials: 1..100");
const ttlMs = parseDurationMs(ttl);
const leaseMs = parseDurationMs(lease);

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

const spec = `name: bench
artifact: ${resolve(ROOT, "test/fixtures/svc")}
run: { command: node, args: [server.js, --tag=failover-bench], env: { PORT: "8080" }, stopTimeout: 2s }
instances: 1
health: { http: { port: 8080, path: /healthz }, interval: 200ms, timeout: 150ms }
`;

/** Target for the new leader's first decision, median over the trials. */
const NEW_LEADER_TARGET_MS = 3_000;

async function leaderBench(): Promise<void> {
  const g = await Group.start({ controllers: 3, hosts: 4, lease, ttl, heartbeat });
  process.once("SIGINT", () => void g.destroy().then(() => process.exit(130)));
  try {
    const ids = await Promise.all([1, 2, 3, 4].map(async (i) => (await g.hosts()).find((h) => h.address === g.topo.hostAddr(i))?.id ?? ""));
    if (ids.some((id) => !id)) throw new Error(`cannot tell which host is which: ${JSON.stringify(await g.hosts())}`);
    const r = await g.apply(await g.specDir("bench", { "bench.yaml": spec }));
    if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
    await g.waitForStatus("bench", (s) => s.instances[0]?.state === "healthy", "bench healthy");
    const newLeader: number[] = [];
    const detection: number[] = [];
    const restored: number[] = [];
    const loads: number[] = [];
    for (let t = 1; t <= trials; t++) {
      const before = await g.controllersJson();
      const li = g.index(before.leader);
      const survivor = [1, 2, 3].find((i) => i !== li)!;
      const host = (await g.status("bench")).instances[0]!.host;
      const hi = ids.indexOf(host) + 1;
      const killedAt = Date.now();
      await Promise.all([g.kill(li), g.topo.killHost(hi)]);
      const elected = await waitFor(
        async () => {
          const c = await g.controllersJson(g.addr(survivor)).catch(() => undefined);
          // The new leader's first decision is the write of who leads: until it lands, leader_since_ms is 0.
          return c?.leader && c.leader !== before.leader && Number(c.leader_since_ms) > 0 ? c : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `trial ${t}: a new leader` },
      );
      const after = await g.waitForStatus("bench", (s) => s.instances[0]!.host !== host && s.instances[0]!.state === "healthy", `trial ${t}: replacement healthy`, 60_000);
      const ev: EventJson[] = (await g.events()).filter((e) => e.time_ms >= killedAt);
      const down = ev.find((e) => e.type === "host.down" && e.host === host);
      const healthy = ev.find((e) => e.type === "instance.healthy" && e.host === after.instances[0]!.host);
      newLeader.push(Number(elected.leader_since_ms) - killedAt);
      if (down) detection.push(down.time_ms - killedAt);
      if (healthy) restored.push(healthy.time_ms - killedAt);
      loads.push(loadavg()[0] ?? 0);
      console.log(`trial ${t}: ${before.leader} killed; ${elected.leader} decides after ${newLeader.at(-1)} ms; host.down ${down ? down.time_ms - killedAt : "?"} ms, restored ${healthy ? healthy.time_ms - killedAt : "?"} ms (load ${loads.at(-1)!.toFixed(1)})`);
      g.startController(li);
      g.startAgent(hi);
      await g.waitForGroup();
      await g.waitForHosts((hs) => hs.find((h) => h.id === host)?.status === "ready", `trial ${t}: host back`);
    }
    const res = {
      bench: "failover-leader",
      trials,
      leaseMs,
      ttlMs,
      heartbeatMs: parseDurationMs(heartbeat),
      newLeaderMs: { median: quantile(newLeader, 0.5), p95: quantile(newLeader, 0.95), max: Math.max(...newLeader) },
      detectionMs: detection.length ? { median: quantile(detection, 0.5), p95: quantile(detection, 0.95) } : null,
      restoredMs: restored.length ? { median: quantile(restored, 0.5), p95: quantile(restored, 0.95) } : null,
      loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
    };
    console.log(`
failover bench, leader lost (3 controllers on a 3-member etcd; lease ${lease}, ttl ${ttl}, heartbeat ${heartbeat}, ${trials} trials)
  new leader deciding (kill → first decision):  median ${res.newLeaderMs.median} ms, p95 ${res.newLeaderMs.p95} ms   [target ≤ ${NEW_LEADER_TARGET_MS} ms median]
  host lost at the same moment, detection:      median ${res.detectionMs?.median ?? "?"} ms, p95 ${res.detectionMs?.p95 ?? "?"} ms
  host lost at the same moment, restored:       median ${res.restoredMs?.median ?? "?"} ms, p95 ${res.restoredMs?.p95 ?? "?"} ms
  load average during the trials: ${res.loadAverage.min.toFixed(1)}–${res.loadAverage.max.toFixed(1)}`);
    console.log(JSON.stringify(res));
    process.exitCode = res.newLeaderMs.median <= NEW_LEADER_TARGET_MS ? 0 : 1;
  } finally {
    await g.destroy();
  }
}

async function hostBench(): Promise<void> {
  const c = await Cluster.start({ hosts: 4, ttl, heartbeat });
  const stop = async (): Promise<void> => {
    await c.destroy();
  };
  process.once("SIGINT", () => void stop().then(() => process.exit(130)));
  try {
    const ids = await Promise.all([1, 2, 3, 4].map((i) => c.hostIdOf(i)));
    const r = await c.apply(await c.specDir("bench", { "bench.yaml": spec }));
    if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
    await c.waitForStatus("bench", (s) => s.instances[0]?.state === "healthy", "bench healthy");
    const detection: number[] = [];
    const restored: number[] = [];
    for (let t = 1; t <= trials; t++) {
      const before = await c.status("bench");
      const host = before.instances[0]!.host;
      const i = ids.indexOf(host) + 1;
      const killedAt = Date.now();
      await c.topo.killHost(i);
      const after = await c.waitForStatus("bench", (s) => s.instances[0]!.host !== host && s.instances[0]!.state === "healthy", `trial ${t}: replacement healthy`, 60_000);
      const ev: EventJson[] = (await c.events()).filter((e) => e.time_ms >= killedAt);
      const down = ev.find((e) => e.type === "host.down" && e.host === host)!;
      const healthy = ev.find((e) => e.type === "instance.healthy" && e.host === after.instances[0]!.host)!;
      detection.push(down.time_ms - killedAt);
      restored.push(healthy.time_ms - killedAt);
      console.log(`trial ${t}: detection ${down.time_ms - killedAt} ms, restored ${healthy.time_ms - killedAt} ms`);
      c.startAgent(i);
      await c.waitForHosts((hs) => hs.find((h) => h.id === host)?.status === "ready", `trial ${t}: host back`);
    }
    const res = {
      bench: "failover",
      mode: c.topo.mode,
      trials,
      heartbeatMs: parseDurationMs(heartbeat),
      ttlMs,
      detectionMs: { median: quantile(detection, 0.5), p95: quantile(detection, 0.95) },
      restoredMs: { median: quantile(restored, 0.5), p95: quantile(restored, 0.95) },
    };
    console.log(`
  failover bench (${c.topo.mode}, heartbeat ${heartbeat}, ttl ${ttl}, ${trials} trials)
    detection (kill → down):               median ${res.detectionMs.median} ms, p95 ${res.detectionMs.p95} ms   [target ≤ ${ttlMs + 500} ms]
    restored  (kill → replacement healthy): median ${res.restoredMs.median} ms, p95 ${res.restoredMs.p95} ms   [target ≤ ${ttlMs + 2000} ms median]
    for comparison, Kubernetes' defaults: node-monitor-grace-period 40–50 s, then the 300 s
    not-ready toleration before pods are evicted and rescheduled: about 5–6 minutes.`);
    console.log(JSON.stringify(res));
    const ok = res.detectionMs.median <= ttlMs + 500 && res.restoredMs.median <= ttlMs + 2000;
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stop();
  }
}

await (leaderMode ? leaderBench() : hostBench());
