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
 */
import { resolve } from "node:path";
import { parseDurationMs } from "../shared/duration.js";
import { Cluster, ROOT, type EventJson } from "../test/cluster/harness/cluster.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const trials = Number(arg("trials", "10"));
const ttl = arg("ttl", "5s");
const heartbeat = arg("heartbeat", "1s");
if (!Number.isInteger(trials) || trials < 1 || trials > 100) throw new Error("--trials: 1..100");
const ttlMs = parseDurationMs(ttl);

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
