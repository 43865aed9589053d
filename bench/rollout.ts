/**
 * `npm run bench:rollout -- [--hosts 8] [--trials 3] [--min-healthy 1s] [--drain 1s]`
 *
 * How close does a rolling restart come to the least time the work needs? On the
 * cluster harness (a network namespace per host, as root; 127.x otherwise): a
 * controller, N agents, a service of N instances (maxUnavailable 1), restarted
 * with `berth restart`. With one instance out at a time nothing overlaps, so
 * the floor is the sum, per instance, of
 *   its process start → first healthy check   (measured: instance.starting → instance.healthy events)
 *   + minHealthyTime                           (it must serve that long before the next one goes)
 *   + drainTime                                (it leaves the endpoints that long before it stops)
 * and the rollout's own time is its record's start → end. Everything berth adds
 * (deciding, pushing assignments, stopping the old process, noticing health and
 * the end of each wait) is the difference. Target: ≤ 1.15 × the floor.
 */
import { resolve } from "node:path";
import { parseDurationMs } from "../shared/duration.js";
import { Cluster, ROOT, type EventJson } from "../test/cluster/harness/cluster.js";
import { waitFor } from "../test/cluster/harness/wait.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const hosts = Number(arg("hosts", "8"));
const trials = Number(arg("trials", "3"));
const minHealthy = arg("min-healthy", "1s");
const drain = arg("drain", "1s");
if (!Number.isInteger(hosts) || hosts < 1 || hosts > 32) throw new Error("--hosts: 1..32");
if (!Number.isInteger(trials) || trials < 1 || trials > 20) throw new Error("--trials: 1..20");
const minHealthyMs = parseDurationMs(minHealthy);
const drainMs = parseDurationMs(drain);

const spec = `name: bench
artifact: ${resolve(ROOT, "test/fixtures/svc")}
run: { command: node, args: [server.js], env: { PORT: "8080" }, stopTimeout: 5s }
instances: ${hosts}
health: { http: { port: 8080, path: /healthz }, interval: 100ms, timeout: 80ms }
update: { maxUnavailable: 1, minHealthyTime: ${minHealthy}, drainTime: ${drain}, healthyDeadline: 1m }
`;

interface RolloutJson {
  status: string;
  to_revision: number;
  started_at_ms: number;
  ended_at_ms: number;
}

const c = await Cluster.start({ hosts, ttl: "5s", heartbeat: "1s" });
const stop = async (): Promise<void> => {
  await c.destroy();
};
process.once("SIGINT", () => void stop().then(() => process.exit(130)));
try {
  const r = await c.apply(await c.specDir("bench", { "bench.yaml": spec }));
  if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
  await c.waitForStatus("bench", (s) => s.instances.filter((i) => i.state === "healthy").length === hosts, `${hosts} healthy`, 120_000);
  const results: { actualMs: number; floorMs: number; startToHealthyMs: number[] }[] = [];
  for (let t = 1; t <= trials; t++) {
    // Every instance in service first (healthy for minHealthyTime): a copy still
    // warming up is out of service already, and a rollout replaces those at once, for free.
    await waitFor(async () => ((await c.cliJson<unknown[]>(["endpoints", "bench"])).length === hosts ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: `${hosts} endpoints` });
    const w = await c.cli(["restart", "bench", "-w"], { timeoutMs: 300_000 });
    if (w.code !== 0) throw new Error(`trial ${t}: the rollout did not succeed: ${w.stdout}${w.stderr}`);
    const ro = JSON.parse((await c.cli(["rollout", "status", "bench", "-o", "json"])).stdout) as RolloutJson;
    const ev: EventJson[] = (await c.events()).filter((e) => e.service === "bench" && e.time_ms >= ro.started_at_ms && e.time_ms <= ro.ended_at_ms);
    // Per host, its new copy's start → first healthy report.
    const startToHealthy: number[] = [];
    for (const s of ev.filter((e) => e.type === "instance.starting")) {
      const h = ev.find((e) => e.type === "instance.healthy" && e.host === s.host && e.time_ms >= s.time_ms);
      if (h) startToHealthy.push(h.time_ms - s.time_ms);
    }
    if (startToHealthy.length !== hosts) throw new Error(`trial ${t}: ${startToHealthy.length} start→healthy pairs in the events, expected ${hosts}`);
    const floorMs = startToHealthy.reduce((a, b) => a + b, 0) + hosts * (minHealthyMs + drainMs);
    const actualMs = ro.ended_at_ms - ro.started_at_ms;
    results.push({ actualMs, floorMs, startToHealthyMs: startToHealthy });
    console.log(`trial ${t}: rollout ${actualMs} ms, floor ${floorMs} ms, ratio ${(actualMs / floorMs).toFixed(3)} (start→healthy ${startToHealthy.join(", ")} ms)`);
  }
  const ratios = results.map((x) => x.actualMs / x.floorMs).sort((a, b) => a - b);
  const median = ratios[Math.floor((ratios.length - 1) / 2)]!;
  const worst = ratios[ratios.length - 1]!;
  const res = { bench: "rollout", mode: c.topo.mode, hosts, trials, minHealthyMs, drainMs, results, ratio: { median: Number(median.toFixed(3)), worst: Number(worst.toFixed(3)) } };
  console.log(`
rollout bench (${c.topo.mode}, ${hosts} hosts, maxUnavailable 1, minHealthyTime ${minHealthy}, drainTime ${drain}, ${trials} trials)
  floor  = Σ (start → first healthy) + ${hosts} × (minHealthyTime + drainTime)
  ratio rollout / floor: median ${res.ratio.median}, worst ${res.ratio.worst}   [target ≤ 1.15]`);
  console.log(JSON.stringify(res));
  process.exitCode = median <= 1.15 ? 0 : 1;
} finally {
  await stop();
}
