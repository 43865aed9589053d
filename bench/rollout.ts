/**
 * `npm run bench:rollout -- [--hosts 8] [--trials 3] [--case both|nowait|waits] [--cli bin|main|both] [--min-healthy 1s] [--drain 1s]`
 *
 * How close does a rolling restart come to the least time the work needs? On the
 * cluster harness (a network namespace per host, as root; 127.x otherwise): a
 * controller, N agents, a service of N instances one per host (maxUnavailable 1),
 * restarted with `berth restart -w`. With one instance out at a time nothing
 * overlaps, so the floor is a sum over the instances. Two cases:
 *
 * nowait  `python3 -m http.server`, health every 50ms, minHealthyTime 0s, drainTime 0s:
 *         nothing to wait for but the work itself. Its floor is measured by doing
 *         that work by hand on the same hosts, one host after another: SIGTERM a
 *         copy, wait for it to exit, start the next (the same command line as the
 *         spec's), poll /healthz until 200, a check every health interval, start to
 *         start, as berth's health monitor paces them. Compared with the wall time
 *         of `berth restart -w` (the CLI's own start-up included). Target: ≤ 1.2 × the floor. Any wait
 *         berth adds per step (a step waiting for a tick or heartbeat) shows here:
 *         it once cost ~1 s per instance, 8× the floor. Each trial also times one call by
 *         bench/bare-call.ts (Node, grpc-js, TLS, one unary call, no berth code) beside
 *         0.2 × the floor, what ≤ 1.2 leaves for everything berth adds.
 * waits   the fixture service with minHealthyTime and drainTime (--min-healthy,
 *         --drain): the floor is, per instance,
 *           its process start → first healthy check   (instance.starting → instance.healthy events)
 *           + minHealthyTime + drainTime
 *         against the rollout record's start → end. Target: ≤ 1.15 × the floor.
 *
 * Everything berth adds (deciding, pushing assignments, stopping the old process,
 * noticing health and the end of each wait) is the difference.
 *
 * --cli: how `berth restart -w` is started. bin (default): dist/cli/berth, as users run
 * it (the CLI's start-up snapshot when one is built for this Node). main: the same bin
 * with BERTH_NO_SNAPSHOT=1, i.e. `node dist/cli/main.js`. both: each nowait trial
 * restarts twice against the same floor, main then bin, then bin then main the next
 * trial, so the two are compared on the same machine state.
 *
 * BENCH_TIMELINE=1 prints each nowait trial's events; BENCH_LOGS=FILE writes the
 * controller's and agents' last output there at the end.
 */
import { readFile, readlink, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseDurationMs } from "../shared/duration.js";
import { Cluster, ROOT, type EventJson } from "../test/cluster/harness/cluster.js";
import { waitFor } from "../test/cluster/harness/wait.js";
import { arg } from "./args.js";

const hosts = Number(arg("hosts", "8"));
const trials = Number(arg("trials", "3"));
const which = arg("case", "both");
const minHealthy = arg("min-healthy", "1s");
const drain = arg("drain", "1s");
const cliArg = arg("cli", "bin");
if (!["bin", "main", "both"].includes(cliArg)) throw new Error("--cli: bin, main or both");
/** How `restart -w` is started: the bin, or the bin told to run main.js. */
const CLI_ENV: Record<"bin" | "main", NodeJS.ProcessEnv> = { bin: {}, main: { BERTH_NO_SNAPSHOT: "1" } };
if (!Number.isInteger(hosts) || hosts < 1 || hosts > 32) throw new Error("--hosts: 1..32");
if (!Number.isInteger(trials) || trials < 1 || trials > 20) throw new Error("--trials: 1..20");
if (!["both", "nowait", "waits"].includes(which)) throw new Error("--case: both, nowait or waits");
const minHealthyMs = parseDurationMs(minHealthy);
const drainMs = parseDurationMs(drain);

/** The no-wait case's health interval, also the by-hand poll interval. */
const NOWAIT_INTERVAL_MS = 50;
/** The by-hand floor's copies listen here, beside berth's on 8080. */
const HAND_PORT = 8081;

/**
 * One host's share of the by-hand floor, run on that host: a copy is started and
 * healthy first (untimed); then SIGTERM it, wait for its exit, start another, poll
 * /healthz until 200. Prints the timed part in ms, and the new copy's CPU time by then. argv: addr port intervalMs, and
 * the process to run as JSON (ServiceProcess, read from berth's own copy on that host):
 * the same program, arguments, environment, folder and user, in a session of its own
 * as berth's supervisor starts it, so the floor is the same work and nothing else.
 */
const HAND = `
const { spawn } = require("node:child_process");
const http = require("node:http");
const [addr, port, interval, json] = process.argv.slice(1);
const p = JSON.parse(json);
const start = () => spawn(p.exe, p.args, { argv0: p.argv0, cwd: p.cwd, env: p.env, uid: p.uid, gid: p.gid, detached: true, stdio: "ignore" });
const ok = () => new Promise((res) => {
  const r = http.get({ host: addr, port: Number(port), path: "/healthz", timeout: 1000, agent: false }, (s) => { s.resume(); res(s.statusCode === 200); });
  r.on("error", () => res(false));
  r.on("timeout", () => r.destroy());
});
const healthy = async () => {
  const deadline = Date.now() + 30000;
  for (;;) {
    const t = performance.now();
    if (await ok()) return;
    if (Date.now() > deadline) throw new Error("not healthy within 30 s");
    // As berth's health monitor paces its checks: one every interval, start to start.
    await new Promise((r) => setTimeout(r, Math.max(0, Number(interval) - (performance.now() - t))));
  }
};
const exited = (c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", r)));
(async () => {
  const a = start();
  await healthy();
  const t0 = performance.now();
  a.kill("SIGTERM");
  await exited(a);
  const b = start();
  await healthy();
  const ms = performance.now() - t0;
  // The new copy's CPU to get there (utime + stime, clock ticks of 10 ms): the work berth's own CPU per step compares with.
  const f = require("node:fs").readFileSync("/proc/" + b.pid + "/stat", "utf8").split(") ")[1].split(" ");
  const cpu = (Number(f[11]) + Number(f[12])) * 10;
  b.kill("SIGTERM");
  await exited(b);
  console.log(Math.round(ms) + " " + cpu);
})().catch((e) => { console.error(String(e)); process.exit(1); });
`;

/** What berth's copy on a host runs, read from /proc: the floor runs exactly that. */
interface ServiceProcess {
  exe: string;
  argv0: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  uid: number;
  gid: number;
}

/**
 * berth's process `pid`, with its port swapped for `port`. Not the spec's command
 * line through the bench's own PATH: that may name another program (a pyenv shim,
 * a bash script around another python, took ~0.8 s a start at load ~20 where the
 * /usr/bin/python3 berth's service user gets took ~0.3 s), and the floor was that much slower.
 */
async function serviceProcess(pid: number, from: string, port: string): Promise<ServiceProcess> {
  const proc = `/proc/${pid}`;
  const cmdline = (await readFile(`${proc}/cmdline`, "utf8")).split("\0").slice(0, -1);
  const env = Object.fromEntries(
    (await readFile(`${proc}/environ`, "utf8"))
      .split("\0")
      .filter((kv) => kv.includes("="))
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
  const status = await readFile(`${proc}/status`, "utf8");
  const id = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  const [argv0, ...args] = cmdline;
  if (argv0 === undefined || !args.includes(from)) throw new Error(`process ${pid}: unexpected command line ${JSON.stringify(cmdline)}`);
  return { exe: await readlink(`${proc}/exe`), argv0, args: args.map((a) => (a === from ? port : a)), cwd: await readlink(`${proc}/cwd`), env, uid: id("Uid"), gid: id("Gid") };
}

interface RolloutJson {
  status: string;
  to_revision: number;
  started_at_ms: number;
  ended_at_ms: number;
}

/** The load average now (1, 5, 15 minutes), to print beside each figure: the machine is shared. */
const loadAvg = async (): Promise<string> => (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const worst = (xs: number[]): number => Math.max(...xs);
const r3 = (x: number): number => Number(x.toFixed(3));

const c = await Cluster.start({ hosts, ttl: "5s", heartbeat: "1s" });
const stop = async (): Promise<void> => {
  if (process.env.BENCH_LOGS) await writeFile(process.env.BENCH_LOGS, await c.dumpLogs());
  await c.destroy();
};
process.once("SIGINT", () => void stop().then(() => process.exit(130)));

async function ready(name: string): Promise<void> {
  // Every instance in service first: a copy still warming up is out of service already,
  // and a rollout replaces those at once, for free.
  await c.waitForStatus(name, (s) => s.instances.filter((i) => i.state === "healthy").length === hosts, `${hosts} healthy`, 120_000);
  await waitFor(async () => ((await c.cliJson<unknown[]>(["endpoints", name])).length === hosts ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: `${hosts} endpoints of ${name}` });
}

/** CPU time (user + system) a process has used so far, in ms; 0 when it is gone. */
async function cpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    // Fields 14 and 15 (utime, stime) of /proc/<pid>/stat, after the command name in parentheses; in clock ticks (100 a second on Linux).
    const f = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** What berth's own processes (the controller, the agents) have used of the CPU so far, in ms. */
async function berthCpuMs(): Promise<{ controller: number; agents: number }> {
  const agents = await Promise.all([...c.agents.values()].map((p) => cpuMs(p.pid)));
  return { controller: await cpuMs(c.controller?.pid), agents: agents.reduce((a, b) => a + b, 0) };
}

/** `berth restart -w`'s wall time, and that of a one-call command (`rollout status`): the CLI's own start-up and connect, which loaded machines make large. */
/**
 * One call by bench/bare-call.ts from the CLI's host: grpc-js, TLS and one unary call, no
 * berth code. What any Node client pays before its first call lands, set beside
 * what ≤ 1.2 leaves for everything berth adds.
 */
async function bareCallMs(): Promise<number> {
  const t0 = performance.now();
  // Without NODE_EXTRA_CA_CERTS, as the bin runs restart -w (cli/launcher.sh).
  const r = await c.topo.run(0, [process.execPath, resolve(ROOT, "dist/bench/bare-call.js")], { env: { ...c.env(), NODE_EXTRA_CA_CERTS: undefined } });
  const ms = Math.round(performance.now() - t0);
  if (r.code !== 0) throw new Error(`bench/bare-call.ts: ${r.stderr}`);
  return ms;
}

async function restart(name: string, t: number, how: "bin" | "main" = "bin"): Promise<{ wallMs: number; cliMs: number; headMs: number; tailMs: number; ro: RolloutJson; ev: EventJson[]; cpu: { controller: number; agents: number } }> {
  const cpu0 = await berthCpuMs();
  const t0 = performance.now();
  const wall0 = Date.now();
  const w = await c.cli(["restart", name, "-w"], { timeoutMs: 300_000, env: CLI_ENV[how] });
  const wallMs = Math.round(performance.now() - t0);
  const wall1 = Date.now();
  const cpu1 = await berthCpuMs();
  const cpu = { controller: cpu1.controller - cpu0.controller, agents: cpu1.agents - cpu0.agents };
  if (w.code !== 0) throw new Error(`${name} trial ${t}: the rollout did not succeed: ${w.stdout}${w.stderr}`);
  const t1 = performance.now();
  const ro = JSON.parse((await c.cli(["rollout", "status", name, "-o", "json"], { env: CLI_ENV[how] })).stdout) as RolloutJson;
  const cliMs = Math.round(performance.now() - t1);
  const ev = (await c.events()).filter((e) => e.service === name && e.time_ms >= ro.started_at_ms && e.time_ms <= ro.ended_at_ms);
  // The CLI's share before the rollout starts (start-up, connect, the call) and after it ends (the watch hears of it, the CLI exits).
  return { wallMs, cliMs, headMs: ro.started_at_ms - wall0, tailMs: wall1 - ro.ended_at_ms, ro, ev, cpu };
}

/** The longest wait between a drain and its replace: a step berth delayed though nothing was left to wait for. */
function worstDrainToReplace(ev: EventJson[]): number {
  let most = 0;
  for (const d of ev.filter((e) => e.type === "rollout.drain")) {
    const r = ev.find((e) => e.type === "rollout.replace" && e.host === d.host && e.time_ms >= d.time_ms);
    if (r) most = Math.max(most, r.time_ms - d.time_ms);
  }
  return most;
}

async function noWait(): Promise<Record<string, unknown>> {
  const artifact = await c.specDir("nowait-files", { healthz: "ok\n", "index.html": "nowait\n" });
  const spec = `name: nowait
artifact: ${artifact}
run: { command: python3, args: [-m, http.server, "8080", --bind, "\${BERTH_ADVERTISE_ADDR}"], stopTimeout: 5s }
instances: ${hosts}
health: { http: { port: 8080, path: /healthz }, interval: ${NOWAIT_INTERVAL_MS}ms, timeout: 40ms }
update: { maxUnavailable: 1, minHealthyTime: 0s, drainTime: 0s, healthyDeadline: 1m }
`;
  const r = await c.apply(await c.specDir("nowait", { "nowait.yaml": spec }));
  if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
  await ready("nowait");
  type Trial = { cli: "bin" | "main"; wallMs: number; cliMs: number; bareCallMs: number; headMs: number; tailMs: number; rolloutMs: number; floorMs: number; handMs: number[]; worstDrainToReplaceMs: number; cpuMs: { controller: number; agents: number }; serviceCpuMs: number; load: string };
  const results: Trial[] = [];
  for (let t = 1; t <= trials; t++) {
    const handMs: number[] = [];
    const handCpuMs: number[] = [];
    const running = (await c.status("nowait")).instances;
    for (let i = 1; i <= hosts; i++) {
      const mine = running.find((x) => x.host_address === c.topo.hostAddr(i) && x.pid > 0);
      if (!mine) throw new Error(`no running copy of nowait on host ${i}`);
      const p = await serviceProcess(mine.pid, "8080", String(HAND_PORT));
      if (t === 1 && i === 1) console.log(`the floor runs ${p.exe} ${p.args.join(" ")} as uid ${p.uid} in ${p.cwd} (berth's copy: pid ${mine.pid})`);
      const h = await c.topo.run(i, [process.execPath, "-e", HAND, c.topo.hostAddr(i), String(HAND_PORT), String(NOWAIT_INTERVAL_MS), JSON.stringify(p)], { timeoutMs: 60_000 });
      if (h.code !== 0) throw new Error(`by hand on host ${i}: ${h.stderr}`);
      const [ms, cpu] = h.stdout.trim().split(" ").map(Number);
      handMs.push(ms!);
      handCpuMs.push(cpu!);
    }
    const floorMs = handMs.reduce((a, b) => a + b, 0);
    // --cli both: main then bin on odd trials, bin then main on even ones.
    const order: ("bin" | "main")[] = cliArg === "both" ? (t % 2 ? ["main", "bin"] : ["bin", "main"]) : [cliArg as "bin" | "main"];
    for (const how of order) {
      await ready("nowait");
      const { wallMs, cliMs, headMs, tailMs, ro, ev, cpu } = await restart("nowait", t, how);
      const worstGap = worstDrainToReplace(ev);
      const bare = await bareCallMs();
      const load = await loadAvg();
      results.push({ cli: how, wallMs, cliMs, bareCallMs: bare, headMs, tailMs, rolloutMs: ro.ended_at_ms - ro.started_at_ms, floorMs, handMs, worstDrainToReplaceMs: worstGap, cpuMs: cpu, serviceCpuMs: handCpuMs.reduce((a, b) => a + b, 0), load });
      // BENCH_TIMELINE=1: where each step's time goes, from the controller's own events.
      if (process.env.BENCH_TIMELINE) for (const e of ev) console.log(`  +${String(e.time_ms - ro.started_at_ms).padStart(5)} ms  ${e.type.padEnd(22)} ${e.host.slice(0, 8)}  ${e.message.slice(0, 90)}`);
      console.log(`nowait trial ${t} (${how === "bin" ? "berth bin" : "main.js"}): restart -w ${wallMs} ms (CLI start → rollout start ${headMs} ms, rollout record ${ro.ended_at_ms - ro.started_at_ms} ms, rollout end → CLI exit ${tailMs} ms; a one-call CLI command ${cliMs} ms, a bare grpc-js client's one call ${bare} ms), floor by hand ${floorMs} ms (${handMs.join(", ")}), ratio ${(wallMs / floorMs).toFixed(3)}; worst drain → replace ${worstGap} ms; berth's CPU during it: controller ${cpu.controller} ms, agents ${cpu.agents} ms (${Math.round((cpu.controller + cpu.agents) / hosts)} ms a step; a new copy's own start, by hand: ${Math.round(handCpuMs.reduce((a, b) => a + b, 0) / hosts)} ms); load ${load}`);
    }
  }
  const summary: Record<string, unknown> = {};
  for (const how of ["bin", "main"] as const) {
    const rs = results.filter((x) => x.cli === how);
    if (rs.length === 0) continue;
    const ratios = rs.map((x) => x.wallMs / x.floorMs);
    const rolloutRatios = rs.map((x) => x.rolloutMs / x.floorMs);
    const netRatios = rs.map((x) => (x.wallMs - x.cliMs) / x.floorMs);
    const heads = rs.map((x) => x.headMs);
    // What ≤ 1.2 leaves for everything berth adds (0.2 × the floor), and what a bare Node client's one call takes of it.
    const budgets = rs.map((x) => Math.round(0.2 * x.floorMs));
    const bares = rs.map((x) => x.bareCallMs);
    console.log(`
rollout bench, no waits, restart -w started as ${how === "bin" ? "the berth bin" : "node main.js"} (${c.topo.mode}, ${hosts} hosts, python3 -m http.server, health every ${NOWAIT_INTERVAL_MS}ms, maxUnavailable 1, minHealthyTime 0s, drainTime 0s, ${rs.length} trials)
  floor  = Σ per host, serially, by hand: SIGTERM → exited → start → first 200 from /healthz
  ratio restart -w wall / floor: median ${r3(median(ratios))}, worst ${r3(worst(ratios))}   [target ≤ 1.2]
  (restart -w wall − a one-call CLI command) / floor: median ${r3(median(netRatios))}; rollout record start → end / floor: median ${r3(median(rolloutRatios))}; CLI start → rollout start: median ${median(heads)} ms
  what ≤ 1.2 leaves for everything berth adds (0.2 × floor): median ${median(budgets)} ms; a bare grpc-js client's one call (bench/bare-call.ts: Node, grpc-js, TLS, the call, no berth code): median ${median(bares)} ms`);
    summary[how] = { ratio: { median: r3(median(ratios)), worst: r3(worst(ratios)) }, netRatio: { median: r3(median(netRatios)) }, rolloutRatio: { median: r3(median(rolloutRatios)) }, headMs: { median: median(heads) }, budgetMs: { median: median(budgets) }, bareCallMs: { median: median(bares) }, ok: median(ratios) <= 1.2 };
  }
  const d = await c.cli(["delete", "nowait"]);
  if (d.code !== 0) throw new Error(`delete nowait: ${d.stderr}`);
  // Its hosts free up as its copies stop; the next case waits for its own to be healthy.
  return { case: "nowait", results, ...summary, ok: Object.values(summary).every((x) => (x as { ok: boolean }).ok) };
}

async function withWaits(): Promise<Record<string, unknown>> {
  const spec = `name: bench
artifact: ${resolve(ROOT, "test/fixtures/svc")}
run: { command: node, args: [server.js], env: { PORT: "8080" }, stopTimeout: 5s }
instances: ${hosts}
health: { http: { port: 8080, path: /healthz }, interval: 100ms, timeout: 80ms }
update: { maxUnavailable: 1, minHealthyTime: ${minHealthy}, drainTime: ${drain}, healthyDeadline: 1m }
`;
  const r = await c.apply(await c.specDir("bench", { "bench.yaml": spec }));
  if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
  const results: { actualMs: number; floorMs: number; startToHealthyMs: number[] }[] = [];
  for (let t = 1; t <= trials; t++) {
    await ready("bench");
    const { ro, ev } = await restart("bench", t);
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
    console.log(`waits trial ${t}: rollout ${actualMs} ms, floor ${floorMs} ms, ratio ${(actualMs / floorMs).toFixed(3)} (start→healthy ${startToHealthy.join(", ")} ms)`);
  }
  const ratios = results.map((x) => x.actualMs / x.floorMs);
  console.log(`
rollout bench, with waits (${c.topo.mode}, ${hosts} hosts, maxUnavailable 1, minHealthyTime ${minHealthy}, drainTime ${drain}, ${trials} trials)
  floor  = Σ (start → first healthy) + ${hosts} × (minHealthyTime + drainTime)
  ratio rollout / floor: median ${r3(median(ratios))}, worst ${r3(worst(ratios))}   [target ≤ 1.15]`);
  return { case: "waits", minHealthyMs, drainMs, results, ratio: { median: r3(median(ratios)), worst: r3(worst(ratios)) }, ok: median(ratios) <= 1.15 };
}

try {
  const out: Record<string, unknown>[] = [];
  if (which !== "waits") out.push(await noWait());
  if (which !== "nowait") out.push(await withWaits());
  console.log(JSON.stringify({ bench: "rollout", mode: c.topo.mode, hosts, trials, cases: out }));
  process.exitCode = out.every((o) => o.ok === true) ? 0 : 1;
} finally {
  await stop();
}
