/**
 * `npm run bench:agents -- --controllers 3 --agents N`: what a controller group pays to
 * hold a fleet, and how it comes back when every member restarts at once.
 *
 * Starts a 3-member etcd (Debian's etcd, through test/cluster/harness/etcd.ts), then
 * `--controllers` controllers on it (`berth controller --store etcd://… --name cI`, one
 * shared secrets key, as `berth dev --controllers 3` runs them), and N simulated agents
 * (bench/sim.ts) given every member, agent i joining through and first connecting to
 * member i mod n, reconnecting as the real agent does.
 *
 * Steady state, over --duration after --warmup: per member CPU (% of one core), RSS and
 * agents held; heartbeat round trip p50/p99 (overall and per member); etcd's writes per
 * second (the revision counter and puts from etcd's own /metrics, and a watch on the
 * fleet's keys telling which keys were written, how often and how large), and each etcd
 * member's CPU and RSS.
 *
 * Then the reconnect storm: SIGTERM to every member at once, each started again on its
 * data dir and port once all have exited. Measured: the stop, the restart until the
 * group answers with a leader, and until every agent is welcomed again (per agent: its
 * stream lost → Welcome again); then, after two TTLs more, whether any host was marked
 * down (`host.down` events after the storm began, hosts not ready in ListHosts), and
 * where the agents ended up.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Etcd3 } from "etcd3";
import { call, connect, type Api } from "../cli/client.js";
import type { HostFacts } from "../shared/gen/berth/v1/HostFacts.js";
import { startEtcdCluster, type EtcdCluster } from "../test/cluster/harness/etcd.js";
import type { ControllerProc} from "./controller-proc.js";
import { createJoinToken, freePort, log, spawnController, waitFor } from "./controller-proc.js";
import type { MallocChoice } from "../shared/malloc.js";
import { cpuPctOfCore, machineBusyPct, readMachineCpu, readProcCpu, readProcMem, type ProcCpu } from "./procfs.js";
import { simSlices, startSims, type SimHandle } from "./sim-handle.js";
import type { SimResult, SimStatus } from "./sim.js";
import { percentile, r1, r2, sortedOf } from "./stats.js";

const EXIT_OK = 0;
const EXIT_MISSED = 1;

/** The controller's defaults (cli/commands/daemons.ts), written here for the figures that depend on them. */
const TTL_MS = 5000;
const LEASE = "3s";
/** How long the storm may take before the bench gives up: generous, the figure is the point. */
const STORM_DEADLINE_MS = 300_000;

export interface GroupBenchOptions {
  agents: number;
  controllers: number;
  durationMs: number;
  warmupMs: number;
  intervalMs: number;
  concurrency: number;
  joinConcurrency: number;
  simProcs: number;
  maxCpuPct: number;
  maxRssMb: number;
  controllerNodeArgs: string[];
  /** The controllers' allocator (BERTH_MALLOC for them alone: the simulators keep the bench's). */
  malloc: MallocChoice;
  /** The controllers' --log-level (warn unless asked: a post-mortem of a storm wants info). */
  controllerLogLevel: string;
}

/** What the group holds, for agents.ts's cleanup (also on Ctrl-C and on a crash). */
export interface GroupRun {
  stop(): Promise<void>;
  killNow(): void;
}

export interface GroupBenchContext {
  dir: string;
  facts: Promise<HostFacts>;
  /** Simulators are registered here as they are made, so the caller's cleanup closes them. */
  sims: SimHandle[];
  setGroup(g: GroupRun): void;
}

class BenchGroup implements GroupRun {
  readonly procs: ControllerProc[] = [];
  private generation = 0;
  private stopped = false;

  constructor(
    readonly etcd: EtcdCluster,
    readonly addrs: string[],
    readonly dataDirs: string[],
    private readonly o: GroupBenchOptions,
    private readonly dir: string,
  ) {}

  name(i: number): string {
    return `c${i + 1}`;
  }

  /** Starts (or starts again, on the same data dir and port) every member at once. */
  startAll(): void {
    this.generation++;
    for (let i = 0; i < this.addrs.length; i++) {
      this.procs[i] = spawnController({
        nodeArgs: this.o.controllerNodeArgs,
        args: [
          "--store", this.etcd.url,
          "--name", this.name(i),
          "--lease", LEASE,
          "--data-dir", this.dataDirs[i]!,
          "--listen", this.addrs[i]!,
          "--secrets-key-file", join(this.dir, "secrets.key"),
        ],
        intervalMs: this.o.intervalMs,
        logLevel: this.o.controllerLogLevel,
        xdgDir: join(this.dir, "xdg"),
        logFile: join(this.dir, `controller-${this.name(i)}.${this.generation}.log`),
        label: `controller ${this.name(i)}`,
        malloc: this.o.malloc,
      });
    }
  }

  dead(): string | undefined {
    for (const p of this.procs) {
      const note = p.deathNote();
      if (note) return note;
    }
    return undefined;
  }

  /** SIGTERM to every member at once; resolves when all have exited (SIGKILL after graceMs). */
  async stopMembers(graceMs: number): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop(graceMs)));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopMembers(5000);
    await this.etcd.stop();
  }

  killNow(): void {
    for (const p of this.procs) p.killNow();
    for (const m of this.etcd.members) if (m.proc && m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill("SIGKILL");
  }
}

// ---------------------------------------------------------------------------
// etcd's side

/** The counters of one etcd member's /metrics this bench reads. */
interface EtcdCounters {
  revision: number;
  puts: number;
  deletes: number;
  txns: number;
  proposals: number;
  clientBytesIn: number;
  dbBytes: number;
}

function getText(url: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(body));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** Sum of every sample of a metric family (all label sets), from Prometheus text. */
function metric(body: string, name: string): number {
  let sum = 0;
  let seen = false;
  for (const line of body.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) {
      sum += v;
      seen = true;
    }
  }
  return seen ? sum : NaN;
}

async function etcdCounters(endpoint: string): Promise<EtcdCounters> {
  const body = await getText(`http://${endpoint}/metrics`);
  return {
    revision: metric(body, "etcd_debugging_mvcc_current_revision"),
    puts: metric(body, "etcd_mvcc_put_total"),
    deletes: metric(body, "etcd_mvcc_delete_total"),
    txns: metric(body, "etcd_mvcc_txn_total"),
    proposals: metric(body, "etcd_server_proposals_committed_total"),
    clientBytesIn: metric(body, "etcd_network_client_grpc_received_bytes_total"),
    dbBytes: metric(body, "etcd_mvcc_db_total_size_in_bytes"),
  };
}

/**
 * Which keys the fleet writes: a watch on the store's prefix over the window. Each berth
 * write is one etcd txn that also rewrites `berth/rev` (controller/store/etcd-store.ts),
 * whose value names the writer; a data key `berth/d/<family>/…` is counted under its family.
 */
class KeyTally {
  readonly families = new Map<string, { writes: number; bytes: number }>();
  readonly writers = new Map<string, number>();
  private client: Etcd3 | undefined;
  private cancel: (() => Promise<void>) | undefined;

  async start(endpoints: string[]): Promise<void> {
    this.client = new Etcd3({ hosts: endpoints.map((e) => `http://${e}`) });
    const w = await this.client.watch().prefix("berth/").create();
    const take = (key: string, bytes: number): void => {
      if (key === "berth/rev") return;
      const user = key.startsWith("berth/d/") ? key.slice("berth/d/".length) : key;
      const family = user.split("/")[0] ?? user;
      const f = this.families.get(family) ?? { writes: 0, bytes: 0 };
      f.writes++;
      f.bytes += bytes;
      this.families.set(family, f);
    };
    w.on("put", (kv) => {
      const key = kv.key.toString("utf8");
      if (key === "berth/rev") {
        // "c2" or "c2 leading@41": the member that wrote.
        const who = kv.value.toString("utf8").split(" ")[0] || "?";
        this.writers.set(who, (this.writers.get(who) ?? 0) + 1);
      }
      take(key, kv.value.length);
    });
    w.on("delete", (kv) => take(kv.key.toString("utf8"), 0));
    this.cancel = () => w.cancel();
  }

  async stop(): Promise<void> {
    await this.cancel?.().catch(() => undefined);
    this.client?.close();
  }
}

// ---------------------------------------------------------------------------

/** Whether HOST:PORT accepts a TCP connection now (a member listens from its bind on, before any TLS). */
function accepts(addr: string, timeoutMs = 500): Promise<boolean> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/** Polls every simulator's status, one request at a time each. */
async function statuses(sims: SimHandle[]): Promise<SimStatus[]> {
  return Promise.all(sims.map((s) => s.status()));
}

function sumByMember(list: SimStatus[], n: number): number[] {
  const out = new Array<number>(n).fill(0);
  for (const st of list) st.byMember.forEach((v, i) => (out[i] = (out[i] ?? 0) + v));
  return out;
}

interface EventLite {
  seq: number;
  timeMs: number;
  type: string;
  host: string;
}

async function eventsAfter(api: Api, afterSeq: number): Promise<{ events: EventLite[]; truncated: boolean }> {
  const res = await call(api, api.client.ListEvents, { limit: 10_000, host: "", service: "" }, 30_000);
  const all = res.events.map((e) => ({ seq: Number(e.seq), type: e.type, host: e.host, timeMs: Number(e.time_ms) }));
  const events = all.filter((e) => e.seq > afterSeq);
  // The newest 10,000 only: if every one is after the mark, older ones after it may be missing.
  return { events, truncated: all.length >= 10_000 && events.length === all.length };
}

export async function runGroupBench(o: GroupBenchOptions, ctx: GroupBenchContext): Promise<number> {
  const n = o.controllers;
  log(`starting a 3-member etcd (${"test/cluster/harness/etcd.ts"})`);
  const etcd = await startEtcdCluster({ members: 3 });
  const addrs: string[] = [];
  for (let i = 0; i < n; i++) addrs.push(`127.0.0.1:${await freePort()}`);
  const dataDirs = addrs.map((_, i) => join(ctx.dir, `controller-c${i + 1}`));
  await writeFile(join(ctx.dir, "secrets.key"), randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
  const group = new BenchGroup(etcd, addrs, dataDirs, o, ctx.dir);
  ctx.setGroup(group);
  group.startAll();
  const dead = (): string | undefined => group.dead();
  const all = addrs.join(",");
  log(`etcd ${etcd.endpoints.join(",")}; controllers ${group.procs.map((p, i) => `${group.name(i)} pid ${p.pid} on ${addrs[i]}`).join(", ")}`);

  const slices = simSlices(o);
  // One token per simulator process: joins with one token serialize at the store.
  const first = await createJoinToken(dead, all, dataDirs, slices[0]?.count ?? o.agents);
  const tokens = [first.token];
  for (const sl of slices.slice(1)) tokens.push((await createJoinToken(dead, all, dataDirs, sl.count)).token);
  const api = connect({ addr: all, token: first.adminToken, ca: first.caPem });
  try {
    const leaderOf = async (): Promise<string | undefined> => {
      const g = await call(api, api.client.ListControllers, {}, 3000);
      return g.members.length >= n && g.leader ? g.leader : undefined;
    };
    const leader0 = await waitFor("the group: every member registered, one leading", 60_000, leaderOf, dead);
    const facts = await ctx.facts;
    log(`group ready, ${leader0} leads; ${tokens.length} join token(s) for ${o.agents} agents`);

    ctx.sims.push(...startSims(o, slices, tokens, { addr: addrs[0]!, members: addrs, caPem: first.caPem, facts }));
    const sims = ctx.sims;

    // --- setup --------------------------------------------------------------------
    const t0 = performance.now();
    const progress = sims.map(() => ({ done: 0, failed: 0 }));
    let lastLog = 0;
    const setups = await Promise.all(
      sims.map((s, i) =>
        s.setup((done, failed) => {
          progress[i] = { done, failed };
          const now = performance.now();
          if (now - lastLog < 5000) return;
          lastLog = now;
          const d = progress.reduce((a, p) => a + p.done, 0);
          log(`joined and connected ${d}/${o.agents} in ${((now - t0) / 1000).toFixed(1)} s (${r1((1000 * d) / (now - t0))}/s)`);
        }),
      ),
    );
    const connected = setups.reduce((s, r) => s + r.connected, 0);
    const setupS = (performance.now() - t0) / 1000;
    const setupErrors = setups.flatMap((r) => r.errorSamples);
    if (connected === 0) throw new Error(`no agent connected: ${setupErrors.slice(0, 3).join("; ")}${dead() ? `\n${dead()}` : ""}`);
    log(`setup: ${connected} joined and connected in ${setupS.toFixed(1)} s (${r1(connected / setupS)}/s)`);
    for (const e of setupErrors.slice(0, 5)) log(`  setup error: ${e}`);

    if (o.warmupMs > 0) {
      log(`warming up for ${o.warmupMs / 1000} s`);
      await sleep(o.warmupMs);
    }
    const why = dead();
    if (why) throw new Error(why);

    // --- steady state -------------------------------------------------------------------
    log(`measuring for ${o.durationMs / 1000} s`);
    const tally = new KeyTally();
    await tally.start(etcd.endpoints);
    const etcdPids = etcd.members.map((m) => m.proc?.pid ?? 0);
    const ctlPids = group.procs.map((p) => p.pid);
    const warnBefore = group.procs.map((p) => p.warnLines);
    const e0 = await Promise.all(etcd.endpoints.map((e) => etcdCounters(e)));
    const c0 = ctlPids.map((pid) => readProcCpu(pid));
    const x0 = etcdPids.map((pid) => readProcCpu(pid));
    const m0 = readMachineCpu();
    for (const s of sims) s.startWindow();
    const rss = ctlPids.map((pid) => [readProcMem(pid).rssMb]);
    const etcdRss = etcdPids.map((pid) => [readProcMem(pid).rssMb]);
    const windowStart = performance.now();
    for (let k = 1; k * 1000 <= o.durationMs; k++) {
      await sleep(Math.max(0, windowStart + k * 1000 - performance.now()));
      const d = dead();
      if (d) throw new Error(d);
      ctlPids.forEach((pid, i) => rss[i]!.push(readProcMem(pid).rssMb));
      etcdPids.forEach((pid, i) => etcdRss[i]!.push(readProcMem(pid).rssMb));
    }
    await sleep(Math.max(0, windowStart + o.durationMs - performance.now()));
    const c1 = ctlPids.map((pid) => readProcCpu(pid));
    const x1 = etcdPids.map((pid) => readProcCpu(pid));
    const m1 = readMachineCpu();
    const e1 = await Promise.all(etcd.endpoints.map((e) => etcdCounters(e)));
    await tally.stop();
    const results: SimResult[] = await Promise.all(sims.map((s) => s.endWindow(Math.max(2000, 2 * o.intervalMs))));
    const heldApi = await call(api, api.client.ListControllers, {}, 10_000);

    const windowS = ((c1[0]?.atMs ?? 0) - (c0[0]?.atMs ?? 0)) / 1000;
    const cpuPct = c0.map((a, i) => cpuPctOfCore(a, c1[i]!));
    const etcdCpuPct = x0.map((a, i) => cpuPctOfCore(a, x1[i]!));
    const rssPeak = rss.map((l) => Math.max(...l));
    const byMember = new Array<number>(n).fill(0);
    for (const r of results) r.byMember.forEach((v, i) => (byMember[i] = (byMember[i] ?? 0) + v));
    const latAll = sortedOf(results.flatMap((r) => r.latenciesMs));
    const latBy = addrs.map((_, m) => sortedOf(results.flatMap((r) => r.latenciesMs.filter((_, j) => r.latencyMembers[j] === m))));
    const sent = results.reduce((s, r) => s + r.sent, 0);
    const acked = results.reduce((s, r) => s + r.acked, 0);
    const lost = results.reduce((s, r) => s + r.lost, 0);
    const errors = results.reduce((s, r) => s + r.errors, 0);
    const disconnects = results.reduce((s, r) => s + r.disconnects, 0);
    const simCpuPct = results.reduce((s, r) => s + (100 * r.cpuMs) / r.windowMs, 0);
    const loopP99 = Math.max(...results.map((r) => r.loopDelayP99Ms));
    const machinePct = machineBusyPct(m0, m1);
    // Counters are per member; every member applies every write, so one member's delta is the cluster's.
    const d = (f: (c: EtcdCounters) => number): number => (f(e1[0]!) - f(e0[0]!)) / windowS;
    const revPerS = d((c) => c.revision);
    const putsPerS = d((c) => c.puts);
    const delPerS = d((c) => c.deletes);
    const proposalsPerS = d((c) => c.proposals);
    const bytesInPerS = e1.reduce((s, c, i) => s + c.clientBytesIn - e0[i]!.clientBytesIn, 0) / windowS;
    const dbGrowthPerS = d((c) => c.dbBytes);
    const revAgree = e1.every((c, i) => Math.abs(c.revision - e0[i]!.revision - (e1[0]!.revision - e0[0]!.revision)) <= 2);
    const expectedPerS = (connected * 1000) / o.intervalMs;

    const out: string[] = [];
    out.push("");
    out.push(`berth controller group benchmark — ${n} controllers on a 3-member etcd, ${connected} agents, heartbeat every ${o.intervalMs} ms, TTL ${TTL_MS / 1000} s, ${r1(windowS)} s window after ${o.warmupMs / 1000} s warm-up`);
    out.push(`  machine: ${m1.cores} cores, busy ${r1(machinePct)} % of all over the window; node ${process.version}; simulator: ${o.simProcs === 1 ? "this process" : `${o.simProcs} worker processes`}`);
    out.push(`  setup: ${r1(setupS)} s to join and connect (${r1(connected / setupS)} agents/s)`);
    out.push("Per member (steady state)");
    out.push(`  member  agents (sim / ListControllers)  CPU % of a core  RSS peak MB  heartbeat p50 / p99 ms  warn+ log lines`);
    for (let i = 0; i < n; i++) {
      const lb = latBy[i]!;
      const held = heldApi.members.find((m) => m.id === group.name(i))?.agents;
      out.push(
        `  ${group.name(i).padEnd(6)}  ${String(byMember[i]).padStart(6)} / ${String(held ?? "?").padEnd(22)}  ${String(r1(cpuPct[i]!)).padStart(15)}  ${String(r1(rssPeak[i]!)).padStart(11)}  ${`${r2(percentile(lb, 50))} / ${r2(percentile(lb, 99))}`.padStart(22)}  ${group.procs[i]!.warnLines - warnBefore[i]!}${heldApi.leader === group.name(i) ? "   (leader)" : ""}`,
      );
    }
    out.push(`  all     heartbeat p50 ${r2(percentile(latAll, 50))} ms, p99 ${r2(percentile(latAll, 99))} ms, max ${r2(latAll.at(-1) ?? NaN)} ms (${latAll.length} samples); sent ${r1(sent / windowS)}/s (expected ${r1(expectedPerS)}/s), acked ${r1(acked / windowS)}/s; lost ${lost}, errors ${errors}, disconnects ${disconnects}`);
    out.push("etcd (steady state)");
    out.push(`  writes: ${r1(revPerS)} revisions/s (write txns), ${r1(putsPerS)} puts/s, ${r1(delPerS)} deletes/s, ${r1(proposalsPerS)} raft proposals/s; clients sent etcd ${r1(bytesInPerS / 1024)} KiB/s; db size ${dbGrowthPerS >= 0 ? "+" : ""}${r1(dbGrowthPerS / 1024)} KiB/s${revAgree ? "" : " (members' revision counters disagree: read with care)"}`);
    const fam = [...tally.families.entries()].sort((a, b) => b[1].writes - a[1].writes);
    out.push(`  keys written (watch on berth/): ${fam.map(([k, v]) => `${k} ${r2(v.writes / windowS)}/s (${r1(v.bytes / Math.max(1, v.writes) / 1024)} KiB each)`).join(", ") || "none"}`);
    out.push(`  writers: ${[...tally.writers.entries()].sort().map(([k, v]) => `${k} ${r2(v / windowS)}/s`).join(", ") || "none"}`);
    out.push(`  etcd members: CPU ${etcdCpuPct.map((p) => `${r1(p)} %`).join(", ")} of a core; RSS peak ${etcdRss.map((l) => `${r1(Math.max(...l))} MB`).join(", ")}`);
    out.push(`  simulator: ${r1(simCpuPct)} % of a core in all; event-loop delay p99 ${r1(loopP99)} ms`);

    // --- the reconnect storm ------------------------------------------------------------
    log("reconnect storm: SIGTERM to every member at once, then each started again on its data dir and port");
    const before = await call(api, api.client.ListEvents, { limit: 1, host: "", service: "" }, 10_000);
    const markSeq = Number(before.events[0]?.seq ?? 0);
    for (const s of sims) s.resetReconnects();
    const s0 = performance.now();
    const wall0 = Date.now();
    await group.stopMembers(20_000);
    const stoppedMs = performance.now() - s0;
    const exits = group.procs.map((p, i) => `${group.name(i)} ${p.exitSignal ?? `code ${p.exitCode}`}`);
    group.startAll();
    const startedAt = performance.now();
    const newPids = group.procs.map((p) => p.pid);
    const cpuStart: ProcCpu[] = newPids.map((pid) => readProcCpu(pid));
    let groupBackMs: number | undefined;
    let allBackMs: number | undefined;
    // When each member listens again, probed beside the agents (every 100 ms).
    const listeningMs: (number | undefined)[] = addrs.map(() => undefined);
    let probing = true;
    const probe = (async () => {
      while (probing && listeningMs.some((v) => v === undefined)) {
        await Promise.all(addrs.map(async (a, i) => {
          if (listeningMs[i] === undefined && (await accepts(a))) listeningMs[i] = performance.now() - s0;
        }));
        await sleep(100);
      }
    })();
    let last: SimStatus[] = [];
    let lastLogAt = 0;
    const cpuAtAllBack: ProcCpu[] = [];
    while (allBackMs === undefined) {
      const d = dead();
      if (d) throw new Error(`during the storm: ${d}`);
      if (performance.now() - s0 > STORM_DEADLINE_MS) break;
      if (groupBackMs === undefined) {
        const l = await leaderOf().catch(() => undefined);
        if (l) groupBackMs = performance.now() - s0;
      }
      last = await statuses(sims);
      const conn = last.reduce((s, st) => s + st.connected, 0);
      if (conn >= connected) {
        allBackMs = performance.now() - s0;
        newPids.forEach((pid) => cpuAtAllBack.push(readProcCpu(pid)));
        break;
      }
      if (performance.now() - lastLogAt > 5000) {
        lastLogAt = performance.now();
        log(`  ${r1((performance.now() - s0) / 1000)} s: ${conn}/${connected} agents connected again (${sumByMember(last, n).join(" / ")})`);
      }
      await sleep(100);
    }
    probing = false;
    await probe;
    if (groupBackMs === undefined) groupBackMs = await waitFor("the group after the storm", 60_000, async () => ((await leaderOf()) ? performance.now() - s0 : undefined), dead);
    // A host the new leader judged down would be judged a TTL after the last host came back
    // (its grace) plus a TTL; wait that long past the last reconnect before reading the record.
    log(`storm: ${allBackMs === undefined ? "NOT all agents back" : `all agents back ${r1(allBackMs / 1000)} s after the SIGTERM`}; waiting ${(2 * TTL_MS) / 1000} s before reading events and hosts`);
    await sleep(2 * TTL_MS);
    const after = await statuses(sims);
    // A member just through a storm may fail a read (etcd slow on a loaded machine): the record is asked again, not given up.
    const again = <T>(what: string, f: () => Promise<T>): Promise<T> => waitFor(what, 60_000, f, dead);
    const { events: evs, truncated } = await again("the events after the storm", () => eventsAfter(api, markSeq));
    const downs = evs.filter((e) => e.type === "host.down");
    const hosts = await again("the hosts after the storm", () => call(api, api.client.ListHosts, {}, 30_000));
    const notReady = hosts.hosts.filter((h) => h.status !== "ready");
    const notConnected = hosts.hosts.filter((h) => !h.connected);
    const heldAfter = await again("the group after the storm", () => call(api, api.client.ListControllers, {}, 10_000));
    const outages = sortedOf(after.flatMap((st) => st.outagesMs));
    const dials = after.reduce((s, st) => s + st.dials, 0);
    const failedDials = after.reduce((s, st) => s + st.failedDials, 0);
    const moveOns = after.reduce((s, st) => s + st.moveOns, 0);
    const stormCpuMs = cpuAtAllBack.map((c, i) => c.cpuMs - cpuStart[i]!.cpuMs);
    const reasons = new Map<string, number>();
    for (const st of after) for (const [k, v] of Object.entries(st.failReasons)) reasons.set(k, (reasons.get(k) ?? 0) + v);
    const downAt = sortedOf(downs.map((e) => e.timeMs - wall0));
    const typeCounts = new Map<string, number>();
    for (const e of evs) typeCounts.set(e.type, (typeCounts.get(e.type) ?? 0) + 1);

    out.push(`Reconnect storm (every member SIGTERMed at once, then started again)`);
    out.push(`  stop: all ${n} exited ${r1(stoppedMs / 1000)} s after the SIGTERM (${exits.join(", ")})`);
    out.push(`  members listening again: ${listeningMs.map((v, i) => `${group.name(i)} ${v === undefined ? "?" : `${r1(v / 1000)} s`}`).join(", ")} after the SIGTERM`);
    const ledFromS = (Number(heldAfter.leader_since_ms) - wall0) / 1000;
    out.push(`  group answering with a leader again: ${r1(groupBackMs / 1000)} s after the SIGTERM (${r1((groupBackMs - (startedAt - s0)) / 1000)} s after the restart); ${heldAfter.leader} leads since ${r1(ledFromS)} s (its clock), judging hosts from ${r1(ledFromS + TTL_MS / 1000)} s at the earliest (a TTL after the last host came back: controller/failure/comeback-grace.ts)`);
    out.push(
      allBackMs === undefined
        ? `  NOT every agent was connected again within ${STORM_DEADLINE_MS / 1000} s: ${last.reduce((s, st) => s + st.connected, 0)}/${connected}`
        : `  every agent connected again: ${r1(allBackMs / 1000)} s after the SIGTERM (${r1((allBackMs - (startedAt - s0)) / 1000)} s after the restart)`,
    );
    out.push(`  per agent, stream lost → welcomed again: p50 ${r1(percentile(outages, 50) / 1000)} s, p99 ${r1(percentile(outages, 99) / 1000)} s, max ${r1((outages.at(-1) ?? NaN) / 1000)} s (${outages.length} outages); ${dials} dials, ${failedDials} ended before a Welcome, ${moveOns} MoveOns`);
    const watchdogDrops = after.reduce((s, st) => s + st.watchdogDrops, 0);
    out.push(`  the simulator: ${watchdogDrops} streams dropped by the agents' watchdog (no word for a TTL); its processes stalled ${after.map((st) => `${r1(st.stalledMs / 1000)} s (longest ${r1(st.stallMaxMs / 1000)} s)`).join(", ")} from the SIGTERM to the record — a stall there delays Welcomes and fires watchdogs`);
    out.push(`  why dials ended before a Welcome: ${[...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${v}× ${k}`).join("; ") || "none"}`);
    if (cpuAtAllBack.length) out.push(`  members' CPU from the restart until all were back: ${stormCpuMs.map((ms, i) => `${group.name(i)} ${r1(ms / 1000)} s`).join(", ")} (${r2(stormCpuMs.reduce((a, b) => a + b, 0) / Math.max(1, connected))} ms per agent)`);
    out.push(`  agents per member after: ${sumByMember(after, n).map((v, i) => `${group.name(i)} ${v}`).join(", ")} (ListControllers: ${heldAfter.members.map((m) => `${m.id} ${m.agents}`).join(", ")}; ${heldAfter.leader} leads)`);
    out.push(`  warn+ log lines since the restart: ${group.procs.map((p, i) => `${group.name(i)} ${p.warnLines}`).join(", ")} (each host.down is one, from the member that led then)`);
    out.push(`  events since the storm began: ${[...typeCounts.entries()].map(([k, v]) => `${k} ${v}`).join(", ") || "none"}${truncated ? " (only the newest 10,000 read)" : ""}`);
    out.push(`  hosts marked down: ${downs.length} host.down events${downs.length ? ` (${r1((downAt[0] ?? 0) / 1000)}–${r1((downAt.at(-1) ?? 0) / 1000)} s after the SIGTERM)` : ""}; ListHosts ${2 * TTL_MS / 1000} s after: ${notReady.length} not ready, ${notConnected.length} not connected of ${hosts.hosts.length}`);

    const missed: string[] = [];
    const unclean: string[] = [];
    for (let i = 0; i < n; i++) {
      if (cpuPct[i]! >= o.maxCpuPct) missed.push(`${group.name(i)} CPU ${r1(cpuPct[i]!)} % of a core ≥ ${o.maxCpuPct} %`);
      if (rssPeak[i]! >= o.maxRssMb) missed.push(`${group.name(i)} RSS peak ${r1(rssPeak[i]!)} MB ≥ ${o.maxRssMb} MB`);
    }
    if (connected < o.agents) unclean.push(`only ${connected}/${o.agents} agents connected`);
    if (disconnects > 0) unclean.push(`${disconnects} disconnects in the steady window`);
    if (errors > 0) unclean.push(`${errors} errors`);
    if (lost > 0) unclean.push(`${lost} heartbeats never acked`);
    if (sent < 0.97 * expectedPerS * windowS) unclean.push(`the simulator sent ${r1(sent / windowS)}/s, below the ${r1(expectedPerS)}/s of ${connected} agents`);
    if (allBackMs === undefined) missed.push(`storm: not every agent back within ${STORM_DEADLINE_MS / 1000} s`);
    if (downs.length > 0 || notReady.length > 0) missed.push(`storm: ${downs.length} hosts marked down (host.down), ${notReady.length} not ready after`);
    out.push("Verdict");
    if (missed.length === 0 && unclean.length === 0) out.push(`  PASS: every member under ${o.maxCpuPct} % of a core and ${o.maxRssMb} MB; after the storm every agent back and no host marked down`);
    for (const m of missed) out.push(`  MISSED: ${m}`);
    for (const u of unclean) out.push(`  NOT CLEAN: ${u}`);
    process.stdout.write(out.join("\n") + "\n");

    const summary = {
      controllers: n,
      agents: connected,
      intervalMs: o.intervalMs,
      durationS: r1(windowS),
      setupS: r1(setupS),
      simProcs: o.simProcs,
      machineBusyPct: r1(machinePct),
      members: addrs.map((_, i) => ({
        name: group.name(i),
        agents: byMember[i],
        cpuPct: r1(cpuPct[i]!),
        rssPeakMb: r1(rssPeak[i]!),
        p50Ms: r2(percentile(latBy[i]!, 50)),
        p99Ms: r2(percentile(latBy[i]!, 99)),
        leader: heldApi.leader === group.name(i),
      })),
      p50Ms: r2(percentile(latAll, 50)),
      p99Ms: r2(percentile(latAll, 99)),
      lost,
      errors,
      disconnects,
      etcd: {
        revisionsPerS: r2(revPerS),
        putsPerS: r2(putsPerS),
        proposalsPerS: r2(proposalsPerS),
        clientKiBPerS: r1(bytesInPerS / 1024),
        families: Object.fromEntries(fam.map(([k, v]) => [k, { perS: r2(v.writes / windowS), avgKiB: r1(v.bytes / Math.max(1, v.writes) / 1024) }])),
        cpuPct: etcdCpuPct.map(r1),
      },
      simCpuPct: r1(simCpuPct),
      storm: {
        stopS: r1(stoppedMs / 1000),
        groupBackS: r1(groupBackMs / 1000),
        listeningS: listeningMs.map((v) => (v === undefined ? null : r1(v / 1000))),
        allBackS: allBackMs === undefined ? null : r1(allBackMs / 1000),
        outageP50S: r1(percentile(outages, 50) / 1000),
        outageP99S: r1(percentile(outages, 99) / 1000),
        outageMaxS: r1((outages.at(-1) ?? NaN) / 1000),
        hostDown: downs.length,
        notReady: notReady.length,
        after: sumByMember(after, n),
      },
      pass: missed.length === 0 && unclean.length === 0,
      missed: [...missed, ...unclean],
    };
    process.stdout.write(JSON.stringify(summary) + "\n");
    return summary.pass ? EXIT_OK : EXIT_MISSED;
  } finally {
    api.close();
  }
}
