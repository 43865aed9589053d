/**
 * `npm run bench:agents -- --agents 1000 [--duration 30s] [--warmup 10s] [--interval 1s]`
 *
 * How much does the controller pay to hold a fleet? Starts a fresh controller as
 * a child process, simulates N agents from OTHER processes (this one, or
 * --sim-procs workers), each with its own key, certificate and TLS connection,
 * heartbeating at the controller's cadence with phases spread evenly over the
 * interval. After a warm-up it measures, for --duration:
 *   - controller CPU (utime+stime from /proc, % of one core) and RSS (peak, end);
 *   - heartbeat handling latency: agent sends seq → agent receives its ack
 *     (p50/p99/max), and heartbeats sent/acked per second;
 *   - errors, disconnects and unacked heartbeats;
 *   - the simulator's own CPU and event-loop delay and the machine's CPU, so a
 *     reader can tell whether the client side distorted the controller figures.
 * Prints a summary and, last, one JSON line; exits 1 if a target is missed
 * (controller < --max-cpu % of a core and < --max-rss MB; defaults are the targets
 * for 1,000 agents) or the run was not clean, 2 if the bench itself failed.
 *
 * --cpu-prof runs the controller under `node --cpu-prof` and reports where its
 * main thread's JS spent the measurement window; --perf samples the whole
 * controller process with Linux perf (TLS, HTTP/2, kernel, GC included).
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { collectFacts } from "../agent/facts/facts.js";
import { parseDurationMs } from "../shared/duration.js";
import { VERSION } from "../shared/version.js";
import type { HostFacts } from "../shared/gen/berth/v1/HostFacts.js";
import type { GroupBenchOptions, GroupRun } from "./agents-group.js";
import type { ControllerProc} from "./controller-proc.js";
import { createJoinToken, freePort, log, spawnController } from "./controller-proc.js";
import { formatPerf, perfAvailable, perfBreakdown, startPerfRecord } from "./perf.js";
import { analyzeProfile, formatProfile, type ProfileReport } from "./profile.js";
import {
  clockTicksPerSecond,
  cpuPctOfCore,
  machineBusyPct,
  readMachineCpu,
  readProcCpu,
  readProcMem,
  readProcMemSplit,
  readThreadCpu,
  threadCpuSplit,
} from "./procfs.js";
import { simSlices, startSims, WorkerSim, type SimHandle } from "./sim-handle.js";
import { errText } from "./sim.js";
import { allocatorInUse, MALLOC_CHOICES, mallocChoice, type MallocChoice } from "../shared/malloc.js";
import { percentile, r1, r2 } from "./stats.js";

const EXIT_OK = 0;
const EXIT_MISSED = 1;
const EXIT_BENCH_FAILED = 2;
const EXIT_INTERRUPTED = 130;

const USAGE = `usage: npm run bench:agents -- --agents N [options]

  --agents N           simulated agents (default 1000)
  --controllers N      1 (default): one controller on LevelDB. 3 or 5: a controller group on a
                       3-member etcd (Debian's /usr/bin/etcd), agents spread evenly over the
                       members and reconnecting as the real agent does; per-member figures,
                       etcd's writes per second, then a reconnect storm (every member
                       SIGTERMed and started again at once). Not with --cpu-prof or --perf.
  --duration D         measurement window (default 30s)
  --warmup D           after all agents are connected, before measuring (default 10s)
  --interval D         heartbeat interval; also given to the controller (default 1s)
  --concurrency N      agents being set up (key, join, connect) at once (default 50)
  --join-concurrency N Join calls in flight at once per simulator process (default 1:
                       joins with one token serialize at the controller; more in flight
                       only adds retries). Each simulator process gets its own token.
  --sim-procs N        simulate from N worker processes instead of this one (default 1)
  --join-step N        report joins/s and controller CPU per join for every N agents (default 1000)
  --cpu-prof           profile the controller's JS (node --cpu-prof) over the window
  --perf               sample the whole controller process with Linux perf over the window
  --prof-dir DIR       where to keep the profiles (default: a new dir under $TMPDIR)
  --max-cpu PCT        controller CPU target, % of one core (default 25)
  --max-rss MB         controller RSS target (default 300)
  --keep               keep the temp dir (controller data dir and controller.log)
  --controller-log-level L
                       the controllers' log level (default warn); with --keep, info
                       keeps what each member decided during a storm for a post-mortem
  --front haproxy      the controller behind HAProxy (berth controller --front haproxy): its RSS and
                       CPU are reported too, and the memory per agent counts both processes.
                       One controller only.
  --malloc auto|jemalloc|glibc
                       the controllers' allocator, as BERTH_MALLOC (default auto: jemalloc
                       where it is installed, as berth starts a controller; shared/malloc.ts)
  --controller-node-args="ARGS"
                       extra node flags for the controller, for experiments
                       (e.g. --controller-node-args="--max-semi-space-size=4 --trace-gc")
`;

class UsageError extends Error {}

function controllersOf(s: string, profiling: boolean): number {
  const n = Number(s);
  // Odd, as a group's etcd quorum wants; 5 is what `berth dev --controllers` also allows.
  if (![1, 3, 5].includes(n)) throw new UsageError(`--controllers ${s}: expected 1, 3 or 5`);
  if (n > 1 && profiling) throw new UsageError("--cpu-prof and --perf profile one controller: not with --controllers");
  return n;
}

function mallocOf(s: string): MallocChoice {
  try {
    return mallocChoice({ BERTH_MALLOC: s });
  } catch (e) {
    throw new UsageError(`--malloc ${s}: expected ${MALLOC_CHOICES.join(", ")}`, { cause: e });
  }
}

function frontOf(s: string | undefined, controllers: number): "haproxy" | undefined {
  if (s === undefined || s === "none") return undefined;
  if (s !== "haproxy") throw new UsageError(`--front ${s}: expected haproxy or none`);
  if (controllers !== 1) throw new UsageError("--front: one controller only");
  return s;
}

/** The HAProxy processes (master, workers) of a controller run with --front on dataDir. */
function frontPids(dataDir: string): number[] {
  const cfg = join(dataDir, "front", "haproxy.cfg");
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").includes(cfg)) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}

/** RSS (MB) and CPU (ms) of the front's processes together. */
function frontUsage(dataDir: string): { rssMb: number; cpuMs: number } {
  let rssMb = 0;
  let cpuMs = 0;
  for (const pid of frontPids(dataDir)) {
    try {
      rssMb += readProcMem(pid).rssMb;
      cpuMs += readProcCpu(pid).cpuMs;
    } catch {
      // gone
    }
  }
  return { rssMb, cpuMs };
}

function logLevelOf(s: string): string {
  if (!["trace", "debug", "info", "warn", "error"].includes(s)) throw new UsageError(`--controller-log-level ${s}: expected trace, debug, info, warn or error`);
  return s;
}

/** The group bench's options, and what only the single-controller run takes. */
interface Options extends GroupBenchOptions {
  /** Joins are reported per this many agents. */
  joinStep: number;
  cpuProf: boolean;
  perf: boolean;
  profDir: string | undefined;
  keep: boolean;
  /** berth controller --front: HAProxy ends TLS and HTTP/2 in front of the controller. */
  front: "haproxy" | undefined;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: "string", default: "1000" },
      controllers: { type: "string", default: "1" },
      duration: { type: "string", default: "30s" },
      warmup: { type: "string", default: "10s" },
      interval: { type: "string", default: "1s" },
      concurrency: { type: "string", default: "50" },
      "join-concurrency": { type: "string", default: "1" },
      "sim-procs": { type: "string", default: "1" },
      "join-step": { type: "string", default: "1000" },
      "cpu-prof": { type: "boolean", default: false },
      perf: { type: "boolean", default: false },
      "prof-dir": { type: "string" },
      "max-cpu": { type: "string", default: "25" },
      "max-rss": { type: "string", default: "300" },
      keep: { type: "boolean", default: false },
      "controller-log-level": { type: "string", default: "warn" },
      "controller-node-args": { type: "string", default: "" },
      malloc: { type: "string", default: "auto" },
      front: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const int = (name: string, s: string, min: number, max: number): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} ${s}: expected a whole number in ${min}..${max}`);
    return n;
  };
  const num = (name: string, s: string): number => {
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} ${s}: expected a positive number`);
    return n;
  };
  const dur = (name: string, s: string, min: number): number => {
    let ms: number;
    try {
      ms = parseDurationMs(s);
    } catch (e) {
      throw new UsageError(`--${name}: ${errText(e)}`);
    }
    if (ms < min) throw new UsageError(`--${name} ${s}: at least ${min} ms`);
    return ms;
  };
  return {
    agents: int("agents", values.agents, 1, 100_000),
    controllers: controllersOf(values.controllers, values["cpu-prof"] || values.perf),
    durationMs: dur("duration", values.duration, 1000),
    warmupMs: dur("warmup", values.warmup, 0),
    // The controller's own lower bound for --heartbeat-interval.
    intervalMs: dur("interval", values.interval, 100),
    concurrency: int("concurrency", values.concurrency, 1, 1000),
    joinConcurrency: int("join-concurrency", values["join-concurrency"], 1, 1000),
    simProcs: int("sim-procs", values["sim-procs"], 1, 16),
    joinStep: int("join-step", values["join-step"], 1, 100_000),
    cpuProf: values["cpu-prof"],
    perf: values.perf,
    profDir: values["prof-dir"],
    maxCpuPct: num("max-cpu", values["max-cpu"]),
    maxRssMb: num("max-rss", values["max-rss"]),
    keep: values.keep,
    controllerLogLevel: logLevelOf(values["controller-log-level"]),
    controllerNodeArgs: values["controller-node-args"].split(/\s+/).filter(Boolean),
    malloc: mallocOf(values.malloc),
    front: frontOf(values.front, Number(values.controllers)),
  };
}

async function startController(o: Options, dir: string, profDir: string | undefined): Promise<{ proc: ControllerProc; addr: string; dataDir: string }> {
  const dataDir = join(dir, "controller");
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const nodeArgs = [
    ...(o.cpuProf && profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []),
    // Names JIT-compiled JS for perf (/tmp/perf-<pid>.map, removed after the report).
    ...(o.perf ? ["--perf-basic-prof-only-functions"] : []),
    ...o.controllerNodeArgs,
  ];
  const proc = spawnController({ nodeArgs, args: ["--data-dir", dataDir, "--listen", addr, ...(o.front ? ["--front", o.front] : [])], intervalMs: o.intervalMs, logLevel: o.controllerLogLevel, xdgDir: join(dir, "xdg"), logFile: join(dir, "controller.log"), malloc: o.malloc });
  return { proc, addr, dataDir };
}

// ---------------------------------------------------------------------------

interface JoinStep {
  from: number;
  to: number;
  joinsPerS: number;
  /** Controller CPU (all threads) over the step, per agent joined and connected. */
  cpuMsPerJoin: number;
  /** The machine's 1-minute load average at the step's end: a busy machine slows joins. */
  load1: number;
}

// ---------------------------------------------------------------------------

interface Run {
  opts: Options | undefined;
  dir: string | undefined;
  profDir: string | undefined;
  controller: ControllerProc | undefined;
  /** --controllers > 1: the group and its etcd (bench/agents-group.ts). */
  group: GroupRun | undefined;
  sims: SimHandle[];
}

const run: Run = { opts: undefined, dir: undefined, profDir: undefined, controller: undefined, group: undefined, sims: [] };
let cleaning: Promise<void> | undefined;
/** Set by Ctrl-C: what fails after it (a closed simulator, a killed controller) is the stop, not a finding. */
let interrupted = false;

/** Idempotent: agents first (so the controller's shutdown is quick), then the controller, then the temp dir. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled(run.sims.map((s) => s.close()));
    await run.controller?.stop(run.opts?.cpuProf ? 20_000 : 5_000);
    await run.group?.stop();
    if (run.dir && !run.opts?.keep) await rm(run.dir, { recursive: true, force: true });
    else if (run.dir) log(`kept ${run.dir}`);
  })();
  return cleaning;
}

// Last resort if the process is leaving without cleanup() having finished (an
// exception in a handler, process.exit elsewhere): never leave a controller behind.
process.on("exit", () => {
  run.controller?.killNow();
  run.group?.killNow();
  for (const s of run.sims) if (s instanceof WorkerSim) s.killNow();
  if (run.dir && !run.opts?.keep) rmSync(run.dir, { recursive: true, force: true });
});

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    interrupted = true;
    log(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(EXIT_INTERRUPTED));
  });
}

async function main(): Promise<number> {
  let opts: Options | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${errText(e)}\n\n${USAGE}`);
    return EXIT_BENCH_FAILED;
  }
  if (!opts) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  const o = opts;
  run.opts = o;
  if (process.platform !== "linux") {
    process.stderr.write("bench:agents reads /proc: it runs on Linux only\n");
    return EXIT_BENCH_FAILED;
  }

  run.dir = await mkdtemp(join(tmpdir(), "berth-bench-"));
  if (o.perf && !perfAvailable()) {
    process.stderr.write("--perf: the perf tool is not installed (apt-get install linux-perf)\n");
    return EXIT_BENCH_FAILED;
  }
  if (o.cpuProf || o.perf) {
    run.profDir = o.profDir ?? (await mkdtemp(join(tmpdir(), "berth-bench-prof-")));
    await mkdir(run.profDir, { recursive: true });
  }

  // Facts: one real collection (slow: ~1 s), reused by every agent with its own
  // hostname. Gathered while the controller starts.
  const factsP: Promise<HostFacts> = collectFacts({ agentVersion: VERSION });
  if (o.controllers > 1) {
    const { runGroupBench } = await import("./agents-group.js");
    return runGroupBench(o, { dir: run.dir, facts: factsP, sims: run.sims, setGroup: (g) => (run.group = g) });
  }
  const { proc, addr, dataDir } = await startController(o, run.dir, run.profDir);
  run.controller = proc;
  log(`controller pid ${proc.pid} on ${addr}${run.profDir ? ` (profiling into ${run.profDir})` : ""}`);
  const slices = simSlices(o);
  const dead = (): string | undefined => proc.deathNote();
  const [{ token, caPem }, facts] = await Promise.all([createJoinToken(dead, addr, [dataDir], slices[0]?.count ?? o.agents), factsP]);
  // One join token per simulator process: Joins with one token serialize at the
  // controller (CAS on the token record), and processes cannot queue behind each other.
  const tokens = [token];
  for (const sl of slices.slice(1)) tokens.push((await createJoinToken(dead, addr, [dataDir], sl.count)).token);
  log(`controller ready; ${tokens.length} join token(s) for ${o.agents} agents; facts: ${facts.os_distro ?? "?"} ${facts.kernel ?? ""}, ${facts.interfaces?.length ?? 0} interfaces, ${facts.filesystems?.length ?? 0} filesystems`);

  // What the controller holds before any agent: the memory per agent is what it adds to this.
  const memReady = readProcMem(proc.pid);
  const splitReady = readProcMemSplit(proc.pid);
  const frontReady = o.front ? frontUsage(dataDir) : undefined;
  run.sims.push(...startSims(o, slices, tokens, { addr, caPem, facts }));

  // --- setup: join and connect every agent --------------------------------------
  const t0 = performance.now();
  const progress = run.sims.map(() => ({ done: 0, failed: 0 }));
  let lastLog = 0;
  const report = (force = false): void => {
    const now = performance.now();
    if (!force && now - lastLog < 2000) return;
    lastLog = now;
    const done = progress.reduce((s, p) => s + p.done, 0);
    const failed = progress.reduce((s, p) => s + p.failed, 0);
    log(`joined and connected ${done}/${o.agents}${failed ? ` (${failed} failed)` : ""} in ${((now - t0) / 1000).toFixed(1)} s`);
  };
  // Join rate per thousand agents, and the controller's CPU per join: the CPU figure
  // shows work that grows with the fleet even when the machine is too busy for rates to.
  const steps: JoinStep[] = [];
  let stepStart = { at: performance.now(), cpuMs: readProcCpu(proc.pid).cpuMs, agents: 0 };
  const stepOf = (n: number): number => Math.floor(n / o.joinStep);
  const takeStep = (done: number): void => {
    if (stepOf(done) === stepOf(stepStart.agents) && done < o.agents) return;
    const c = readProcCpu(proc.pid);
    const at = performance.now();
    const n = done - stepStart.agents;
    if (n > 0) steps.push({ from: stepStart.agents, to: done, joinsPerS: (1000 * n) / (at - stepStart.at), cpuMsPerJoin: (c.cpuMs - stepStart.cpuMs) / n, load1: loadavg()[0] ?? 0 });
    stepStart = { at, cpuMs: c.cpuMs, agents: done };
  };
  const setups = await Promise.all(
    run.sims.map((s, i) =>
      s.setup((done, failed) => {
        progress[i] = { done, failed };
        report();
        if (proc.alive) takeStep(progress.reduce((a, p) => a + p.done, 0));
      }),
    ),
  );
  report(true);
  for (const st of steps) log(`  agents ${st.from}–${st.to}: ${r1(st.joinsPerS)} joins/s, controller CPU ${r1(st.cpuMsPerJoin)} ms per join (load average ${r1(st.load1)})`);
  const connected = setups.reduce((s, r) => s + r.connected, 0);
  const joinRetries = setups.reduce((s, r) => s + r.joinRetries, 0);
  const setupS = (performance.now() - t0) / 1000;
  const setupErrors = setups.flatMap((r) => r.errorSamples);
  if (connected === 0) throw new Error(`no agent connected: ${setupErrors.slice(0, 3).join("; ")}${proc.alive ? "" : `\n${proc.deathNote()}`}`);
  log(`setup: ${connected} connected in ${setupS.toFixed(1)} s (${joinRetries} join retries after token races)`);
  for (const e of setupErrors.slice(0, 5)) log(`  setup error: ${e}`);

  // --- warm-up ------------------------------------------------------------------
  if (o.warmupMs > 0) {
    log(`warming up for ${o.warmupMs / 1000} s`);
    await Promise.race([sleep(o.warmupMs), proc.untilExit()]);
  }
  if (!proc.alive) throw new Error(proc.deathNote());

  // --- measurement window -----------------------------------------------------------
  log(`measuring for ${o.durationMs / 1000} s`);
  const warnBefore = proc.warnLines;
  const hwmBefore = readProcMem(proc.pid).hwmMb;
  const threads0 = readThreadCpu(proc.pid);
  const c0 = readProcCpu(proc.pid);
  const front0 = o.front ? frontUsage(dataDir) : undefined;
  const m0 = readMachineCpu();
  const self0 = process.cpuUsage();
  const hr0 = process.hrtime.bigint();
  const perfRec = o.perf && run.profDir ? startPerfRecord(proc.pid, o.durationMs / 1000, join(run.profDir, "perf.data")) : undefined;
  for (const s of run.sims) s.startWindow();
  const rss: number[] = [readProcMem(proc.pid).rssMb];
  const perSecondCpu: number[] = [];
  // Sample once a second against absolute deadlines so sampling does not drift the window.
  let prev = c0;
  const windowStart = performance.now();
  for (let k = 1; k * 1000 <= o.durationMs; k++) {
    await sleep(Math.max(0, windowStart + k * 1000 - performance.now()));
    if (!proc.alive) throw new Error(proc.deathNote());
    const c = readProcCpu(proc.pid);
    perSecondCpu.push(cpuPctOfCore(prev, c));
    prev = c;
    rss.push(readProcMem(proc.pid).rssMb);
  }
  await sleep(Math.max(0, windowStart + o.durationMs - performance.now()));
  const c1 = readProcCpu(proc.pid);
  const threads1 = readThreadCpu(proc.pid);
  const m1 = readMachineCpu();
  const self1 = process.cpuUsage(self0);
  const hr1 = process.hrtime.bigint();
  const mem1 = readProcMem(proc.pid);
  const split1 = readProcMemSplit(proc.pid);
  const front1 = o.front ? frontUsage(dataDir) : undefined;
  const kbPerAgent = connected > 0 ? ((mem1.rssMb - memReady.rssMb) * 1024) / connected : NaN;
  rss.push(mem1.rssMb);
  const results = await Promise.all(run.sims.map((s) => s.endWindow(Math.max(2000, 2 * o.intervalMs))));
  const warnDuring = proc.warnLines - warnBefore;
  // perf stops by itself at the window's end; allow it a moment to write its file.
  const perfOk = perfRec ? (await Promise.race([perfRec.done, sleep(10_000, null)])) === 0 : false;

  // --- figures -----------------------------------------------------------------------
  const windowS = (c1.atMs - c0.atMs) / 1000;
  const controllerCpuPct = cpuPctOfCore(c0, c1);
  const rssPeakMb = Math.max(...rss);
  const sent = results.reduce((s, r) => s + r.sent, 0);
  const acked = results.reduce((s, r) => s + r.acked, 0);
  const lost = results.reduce((s, r) => s + r.lost, 0);
  const skipped = results.reduce((s, r) => s + r.skipped, 0);
  const strayAcks = results.reduce((s, r) => s + r.strayAcks, 0);
  const errors = results.reduce((s, r) => s + r.errors, 0);
  const disconnects = results.reduce((s, r) => s + r.disconnects, 0);
  const lat = new Float64Array(results.reduce((s, r) => s + r.latenciesMs.length, 0));
  let at = 0;
  for (const r of results) for (const v of r.latenciesMs) lat[at++] = v;
  lat.sort();
  const mean = lat.reduce((s, v) => s + v, 0) / Math.max(1, lat.length);
  // Simulator CPU: each simulator process's own figure; in-process, that includes
  // this orchestrator's sampling, which is negligible.
  const simCpuPcts = results.map((r) => (100 * r.cpuMs) / r.windowMs);
  const simCpuTotalPct = simCpuPcts.reduce((s, v) => s + v, 0);
  const orchestratorCpuPct = o.simProcs > 1 ? (100 * (self1.user + self1.system)) / 1000 / (windowS * 1000) : 0;
  const machinePct = machineBusyPct(m0, m1);
  const expectedPerS = (connected * 1000) / o.intervalMs;

  const missed: string[] = [];
  if (controllerCpuPct >= o.maxCpuPct) missed.push(`controller CPU ${r1(controllerCpuPct)} % of a core ≥ target ${o.maxCpuPct} %`);
  if (rssPeakMb >= o.maxRssMb) missed.push(`controller RSS peak ${r1(rssPeakMb)} MB ≥ target ${o.maxRssMb} MB`);
  const unclean: string[] = [];
  if (connected < o.agents) unclean.push(`only ${connected}/${o.agents} agents connected`);
  if (disconnects > 0) unclean.push(`${disconnects} disconnects`);
  if (errors > 0) unclean.push(`${errors} errors`);
  if (lost > 0) unclean.push(`${lost} heartbeats never acked`);
  if (sent < 0.97 * expectedPerS * windowS) unclean.push(`the simulator sent ${r1(sent / windowS)}/s, below the ${r1(expectedPerS)}/s a fleet of ${connected} sends`);
  const distort: string[] = [];
  for (const [i, pct] of simCpuPcts.entries()) if (pct > 80) distort.push(`simulator process ${i + 1} used ${r1(pct)} % of a core`);
  if (machinePct > 85) distort.push(`the machine was ${r1(machinePct)} % busy (all ${m1.cores} cores)`);
  const loopP99 = Math.max(...results.map((r) => r.loopDelayP99Ms));
  if (loopP99 > 20) distort.push(`simulator event-loop delay p99 ${r1(loopP99)} ms (inflates latency figures)`);

  const out: string[] = [];
  out.push("");
  out.push(`berth controller benchmark — ${connected} agents, heartbeat every ${o.intervalMs} ms, ${r1(windowS)} s window after ${o.warmupMs / 1000} s warm-up`);
  out.push(`  machine: ${m1.cores} cores, node ${process.version}, CLK_TCK ${clockTicksPerSecond()}; simulator: ${o.simProcs === 1 ? "this process" : `${o.simProcs} worker processes`}`);
  const flags = [...(o.cpuProf ? ["--cpu-prof"] : []), ...(o.perf ? ["--perf-basic-prof-only-functions"] : []), ...o.controllerNodeArgs];
  if (flags.length) out.push(`  controller node flags: ${flags.join(" ")} (figures are not those of a plain controller)`);
  out.push(`  setup: ${r1(setupS)} s to join and connect (${o.concurrency} at a time, ${o.joinConcurrency} Join in flight, ${joinRetries} join retries after token races)`);
  for (const st of steps) out.push(`    agents ${st.from}–${st.to}: ${r1(st.joinsPerS)} joins/s, controller CPU ${r1(st.cpuMsPerJoin)} ms per join (load average ${r1(st.load1)})`);
  const allocator = allocatorInUse(() => readFileSync(`/proc/${proc.pid}/maps`, "utf8"));
  out.push(`Controller (pid ${proc.pid}, malloc: ${allocator}${o.malloc === "auto" ? "" : `, as --malloc ${o.malloc} asked`})`);
  const sysPct = (100 * (c1.sysMs - c0.sysMs)) / (c1.atMs - c0.atMs);
  out.push(
    `  CPU          ${r1(controllerCpuPct)} % of one core (user ${r1(controllerCpuPct - sysPct)} %, kernel ${r1(sysPct)} %; ` +
      `per-second min/max ${r1(Math.min(...perSecondCpu))}/${r1(Math.max(...perSecondCpu))} %)   target < ${o.maxCpuPct} %`,
  );
  const split = threadCpuSplit(proc.pid, threads0, threads1, c1.atMs - c0.atMs);
  out.push(`  by thread    main (event loop) ${r1(split.mainPct)} %, the ${split.others} others (GC helpers, V8 compiler, libuv pool) ${r1(split.otherPct)} %`);
  out.push(
    `  RSS          peak ${r1(rssPeakMb)} MB, end ${r1(mem1.rssMb)} MB (anon ${r1(mem1.anonMb)} + file ${r1(mem1.fileMb)} MB; ` +
      `lifetime VmHWM ${r1(mem1.hwmMb)} MB, ${r1(hwmBefore)} MB before the window)   target < ${o.maxRssMb} MB`,
  );
  out.push(
    `  per agent    ${r1(kbPerAgent)} KB (RSS at the window's end less ${r1(memReady.rssMb)} MB before any agent, over ${connected} agents); ` +
      (allocator === "glibc"
        ? `glibc [heap] ${r1(splitReady.heapMb)} → ${r1(split1.heapMb)} MB, other anon (V8 heap, arenas) ${r1(splitReady.otherAnonMb)} → ${r1(split1.otherAnonMb)} MB`
        : `anon (V8 heap, jemalloc's mappings) ${r1(splitReady.otherAnonMb)} → ${r1(split1.otherAnonMb)} MB`),
  );
  if (front0 && front1 && frontReady) {
    const frontKb = connected > 0 ? ((front1.rssMb - frontReady.rssMb) * 1024) / connected : NaN;
    out.push(
      `  front        HAProxy (--front ${o.front}): CPU ${r1((100 * (front1.cpuMs - front0.cpuMs)) / (c1.atMs - c0.atMs))} % of one core, RSS ${r1(frontReady.rssMb)} → ${r1(front1.rssMb)} MB, ` +
        `${r1(frontKb)} KB an agent; with the controller's: ${r1(kbPerAgent + frontKb)} KB an agent`,
    );
  }
  out.push(`  log lines at warn+ during the window: ${warnDuring}${warnDuring ? `\n    ${proc.recentOutput(3).replace(/\n/g, "\n    ")}` : ""}`);
  out.push("Heartbeat handling latency (agent send → agent receives ack)");
  out.push(`  p50 ${r2(percentile(lat, 50))} ms   p90 ${r2(percentile(lat, 90))} ms   p99 ${r2(percentile(lat, 99))} ms   p99.9 ${r2(percentile(lat, 99.9))} ms   max ${r2(lat.at(-1) ?? NaN)} ms   mean ${r2(mean)} ms   (${lat.length} samples)`);
  out.push(`  sent ${r1(sent / windowS)}/s, acked ${r1(acked / windowS)}/s (expected ${r1(expectedPerS)}/s); lost ${lost}, skipped for backpressure ${skipped}, stray acks ${strayAcks}`);
  out.push(`  errors ${errors}, disconnects ${disconnects}${results.flatMap((r) => r.errorSamples).slice(0, 5).map((e) => `\n    ${e}`).join("")}`);
  out.push("Simulator (client side)");
  out.push(
    `  CPU          ${simCpuPcts.map((p) => `${r1(p)} %`).join(" + ")}${o.simProcs > 1 ? ` (= ${r1(simCpuTotalPct)} %) + orchestrator ${r1(orchestratorCpuPct)} %` : ""} of one core; ` +
      `event-loop delay p99 ${r1(loopP99)} ms, max ${r1(Math.max(...results.map((r) => r.loopDelayMaxMs)))} ms; RSS ${results.map((r) => `${r1(r.rssMb)} MB`).join(" + ")}`,
  );
  // Whatever else ran on the machine meanwhile competed with both sides: say how much.
  const othersPct = (machinePct * m1.cores) - controllerCpuPct - simCpuTotalPct - orchestratorCpuPct;
  out.push(`  machine busy ${r1(machinePct)} % of all ${m1.cores} cores (= ${r1((machinePct * m1.cores) / 100)} cores; other processes ≈ ${r1(Math.max(0, othersPct))} % of a core)`);
  if (distort.length) out.push(`  WARNING: the client side may distort the figures: ${distort.join("; ")}`);
  out.push("Verdict");
  if (missed.length === 0 && unclean.length === 0) out.push(`  PASS: controller under ${o.maxCpuPct} % of a core and ${o.maxRssMb} MB with ${connected} agents`);
  for (const m of missed) out.push(`  MISSED: ${m}`);
  for (const u of unclean) out.push(`  NOT CLEAN: ${u}`);
  process.stdout.write(out.join("\n") + "\n");

  if (perfRec && run.profDir) {
    if (!perfOk) log("perf record did not finish cleanly: no perf report");
    else {
      const pr = await perfBreakdown(join(run.profDir, "perf.data"), proc.pid);
      process.stdout.write(`\n${formatPerf(pr, controllerCpuPct)}\n  (perf data: ${join(run.profDir, "perf.data")}; perf report -i … for more)\n`);
    }
  }

  // --- V8 profile (needs the controller to exit cleanly to write it) ------------------
  let profile: ProfileReport | undefined;
  let profilePath: string | undefined;
  if (o.cpuProf && run.profDir) {
    await cleanup();
    const files = (await readdir(run.profDir)).filter((f) => f.endsWith(".cpuprofile"));
    const file = files.sort().at(-1);
    if (!file) log(`no .cpuprofile in ${run.profDir}: the controller did not exit cleanly`);
    else {
      profilePath = join(run.profDir, file);
      profile = await analyzeProfile(profilePath, { startUs: Number(hr0 / 1000n), endUs: Number(hr1 / 1000n) });
      process.stdout.write(`\n${formatProfile(profile)}\n  (profile: ${profilePath}; open it in Chrome DevTools → Performance)\n`);
    }
  }

  const summary = {
    agents: connected,
    controllerCpuPct: r1(controllerCpuPct),
    rssMb: r1(rssPeakMb),
    rssEndMb: r1(mem1.rssMb),
    rssAnonMb: r1(mem1.anonMb),
    rssReadyMb: r1(memReady.rssMb),
    kbPerAgent: r1(kbPerAgent),
    ...(front1 && frontReady && front0 ? { front: o.front, frontRssReadyMb: r1(frontReady.rssMb), frontRssEndMb: r1(front1.rssMb), frontCpuPct: r1((100 * (front1.cpuMs - front0.cpuMs)) / (c1.atMs - c0.atMs)) } : {}),
    allocator,
    heapMb: r1(split1.heapMb),
    otherAnonMb: r1(split1.otherAnonMb),
    p50Ms: r2(percentile(lat, 50)),
    p99Ms: r2(percentile(lat, 99)),
    maxMs: r2(lat.at(-1) ?? NaN),
    sentPerS: r1(sent / windowS),
    ackedPerS: r1(acked / windowS),
    lost,
    errors,
    disconnects,
    simCpuPct: r1(simCpuTotalPct + orchestratorCpuPct),
    simProcs: o.simProcs,
    ...(flags.length ? { controllerNodeFlags: flags.join(" ") } : {}),
    controllerMainThreadPct: r1(split.mainPct),
    machineBusyPct: r1(machinePct),
    otherProcsCpuPct: r1(Math.max(0, machinePct * m1.cores - controllerCpuPct - simCpuTotalPct - orchestratorCpuPct)),
    intervalMs: o.intervalMs,
    durationS: r1(windowS),
    setupS: r1(setupS),
    joins: steps.map((st) => ({ agents: `${st.from}-${st.to}`, joinsPerS: r1(st.joinsPerS), cpuMsPerJoin: r1(st.cpuMsPerJoin), load1: r1(st.load1) })),
    targets: { cpuPct: o.maxCpuPct, rssMb: o.maxRssMb },
    pass: missed.length === 0 && unclean.length === 0,
    missed: [...missed, ...unclean],
    ...(profilePath ? { profile: profilePath } : {}),
  };
  process.stdout.write(JSON.stringify(summary) + "\n");
  return summary.pass ? EXIT_OK : EXIT_MISSED;
}

let code: number;
try {
  code = await main();
} catch (err) {
  // The message says what happened; the stack only helps when debugging the bench itself.
  if (!interrupted) process.stderr.write(`bench:agents failed: ${err instanceof Error ? (process.env["BENCH_DEBUG"] ? err.stack : err.message) : String(err)}\n`);
  code = EXIT_BENCH_FAILED;
}
await cleanup();
if (interrupted) code = EXIT_INTERRUPTED;
// Explicit: a stray grpc-js timer must not keep a finished bench alive.
process.exit(code);
