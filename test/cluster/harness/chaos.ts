/**
 * The chaos run, shared by `npm run chaos` (bench/chaos.ts) and its short version in
 * `npm test` (test/cluster/chaos.test.ts).
 *
 * On the namespace harness: a controller, N agents, a client node running the load
 * generator (it follows `berth endpoints web -w`), and three services:
 *   web   2 instances, maxSurge 1 (rollouts surge onto a spare)
 *   api   1 instance, in place
 *   solo  1 instance, self-fenced (failover.stopAfterDisconnect 2s)
 * Each round, a seeded PRNG draws a schedule: writes (apply of a changed env, restart,
 * cordon/uncordon) and 1–2 faults at random moments (kill -9 of the controller, then
 * restart on the same data dir; kill -9 of an agent, then restart; a host's link
 * down, then up). Meanwhile every ~200 ms the real processes are sampled (copies.ts).
 * After the faults are healed the round checks:
 *  - every acknowledged write (exit 0) is in the stored state;
 *  - no duplicate moment (copies.ts: judgeCopies);
 *  - the fleet converges within a bound: every wanted instance healthy at the stored
 *    revision, and the real processes exactly those instances (one per slot, on the
 *    host and with the epoch the controller records, nothing else);
 *  - no berth process exited on its own (a controller or agent crash).
 * The schedule depends only on the seed; the interleaving with the fleet's own timing
 * does not, so `--seed N` replays the same faults and writes, not the same race.
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BERTH_MAIN, Cluster, ROOT, type CliResult, type EventJson, type HostJson, type StatusJson } from "./cluster.js";
import { judgeCopies, listCopies, type Copy, type DuplicateKind, type ServiceRules } from "./copies.js";
import { svcSpec } from "./specs.js";
import { recentOutput } from "./topology.js";
import { waitFor } from "./wait.js";
import { prng } from "../../../shared/prng.js";

export const FAULT_KINDS = ["controller", "agent", "partition"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  seed: number;
  rounds: number;
  /** @default 6 */
  hosts?: number;
  /** How long each round injects faults and writes. @default 8000 */
  actionMs?: number;
  /** The fleet must converge this long after the last fault of a round is healed. @default 30000 */
  convergeBoundMs?: number;
  /** @default 200 */
  sampleIntervalMs?: number;
  /**
   * Longest time an agent stays dead after its kill -9 (its start takes more). Past
   * stopAfterDisconnect + stopTimeout + 1 s after its last contact (5 s here) the controller
   * replaces a self-fenced singleton; its old copy has been stopped by then by the fencing
   * watchdog (agent/supervisor/fence-lease.ts), which does not need the agent. @default 1500
   */
  agentDownMaxMs?: number;
  /**
   * false: agent kills never hit the host of the self-fenced singleton (before the fencing
   * watchdog, a dead agent could not fence it: two copies of `solo`). @default true
   */
  killFencedAgent?: boolean;
  log?: (line: string) => void;
}

export interface Violation {
  round: number;
  kind: "lost-write" | DuplicateKind | "no-convergence" | "crash";
  detail: string;
}

export interface ChaosResult {
  seed: number;
  rounds: number;
  faults: Record<FaultKind, number>;
  writes: { acked: number; unacked: number; lost: number };
  samples: number;
  duplicateMoments: number;
  duplicatesByKind: Partial<Record<DuplicateKind, number>>;
  allowedOverlaps: { surge: number; stale: number };
  convergenceMs: number[];
  controllerCrashes: number;
  agentCrashes: number;
  requests: { ok: number; failed: number };
  violations: Violation[];
}

const SERVICES = ["web", "api", "solo"] as const;
type Service = (typeof SERVICES)[number];
const WANT: Record<Service, number> = { web: 2, api: 1, solo: 1 };
const RULES = new Map<string, ServiceRules>([
  ["web", { surge: true, fenced: false }],
  ["api", { surge: false, fenced: false }],
  ["solo", { surge: false, fenced: true }],
]);
const TTL = "3s";
const DEFAULT_AGENT_DOWN_MAX_MS = 1500;
const STOP_TIMEOUT_MS = 2000;
/**
 * A host is disturbed from a fault's start until its agent has reconnected after the fault
 * ended (its "connected" log line), plus this long: the time for it to hear "none" and stop
 * a superseded copy (stopTimeout) with slack for a loaded machine. An agent whose stream
 * survived a short cut never logs a reconnect: then the disturbance ends AWAIT_RECONNECT_MS
 * after the fault. A superseded copy still running later than either is a duplicate.
 */
const RECONNECT_GRACE_MS = STOP_TIMEOUT_MS + 3000;
const AWAIT_RECONNECT_MS = 15_000;
const CLI_TIMEOUT_MS = 20_000;
/** Polls of the fleet go through the CLI (seconds each on a loaded box): time to notice convergence. */
const MEASURE_SLACK_MS = 20_000;
const LOADGEN = resolve(ROOT, "test/fixtures/loadgen.mjs");

function spec(name: Service, w: number): string {
  const update = { maxUnavailable: 1, maxSurge: name === "web" ? 1 : 0, minHealthyTime: "500ms", drainTime: "300ms", healthyDeadline: "60s", progressDeadline: "5m", autoRevert: false };
  return svcSpec(name, {
    instances: WANT[name],
    args: ["server.js", `--tag=chaos-${name}`],
    env: { CHAOS_W: String(w) },
    stopTimeout: `${STOP_TIMEOUT_MS / 1000}s`,
    health: { interval: "300ms", timeout: "250ms", healthyThreshold: 1, unhealthyThreshold: 2 },
    update,
    extra: name === "solo" ? "failover: { stopAfterDisconnect: 2s }\n" : "",
  });
}

type Write =
  | { kind: "apply"; service: Service }
  | { kind: "restart"; service: Service }
  | { kind: "cordon"; pick: number };

interface Fault {
  kind: FaultKind;
  atMs: number;
  downMs: number;
  /** Which host (agent, partition): an index into the hosts that run a copy at that moment. */
  pick: number;
  /** The host it hit, once injected. */
  host?: number;
}

interface Schedule {
  writes: { atMs: number; w: Write }[];
  faults: Fault[];
}

/** One round's writes and faults, drawn from the PRNG alone (never from the fleet's state). */
export function drawSchedule(rnd: () => number, actionMs: number, agentDownMaxMs = DEFAULT_AGENT_DOWN_MAX_MS): Schedule {
  const writes: Schedule["writes"] = [];
  for (let t = 200 + rnd() * 800; t < actionMs; t += 400 + rnd() * 1100) {
    const r = rnd();
    const service = SERVICES[Math.floor(rnd() * SERVICES.length)]!;
    const w: Write = r < 0.55 ? { kind: "apply", service } : r < 0.8 ? { kind: "restart", service } : { kind: "cordon", pick: rnd() };
    writes.push({ atMs: Math.round(t), w });
  }
  const faults: Fault[] = [];
  const n = 1 + Math.floor(rnd() * 2);
  for (let k = 0; k < n; k++) {
    const kind = FAULT_KINDS[Math.floor(rnd() * FAULT_KINDS.length)]!;
    const atMs = Math.round(rnd() * actionMs * 0.7);
    // Agent restarts stay short by default (a supervisor restarts it): a dead agent cannot
    // fence its instance (see ChaosOptions.agentDownMaxMs). Partitions last up to well past the TTL.
    const downMs = Math.round(kind === "controller" ? 200 + rnd() * 2300 : kind === "agent" ? 200 + rnd() * (agentDownMaxMs - 200) : 1000 + rnd() * 7000);
    faults.push({ kind, atMs, downMs, pick: rnd() });
  }
  return { writes, faults: faults.sort((a, b) => a.atMs - b.atMs) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

/** The figures as lines for a terminal or a report. */
export function formatResult(r: ChaosResult): string {
  const sec = (ms: number): string => (Number.isNaN(ms) ? "–" : `${(ms / 1000).toFixed(1)} s`);
  const kinds = Object.entries(r.duplicatesByKind).map(([k, n]) => `${k} ${n}`).join(", ");
  return [
    `chaos (seed ${r.seed}): ${r.rounds} rounds`,
    `  faults injected:      ${FAULT_KINDS.map((k) => `${k} ${r.faults[k]}`).join(", ")}`,
    `  writes acknowledged:  ${r.writes.acked} (lost ${r.writes.lost}; ${r.writes.unacked} not acknowledged)`,
    `  duplicate moments:    ${r.duplicateMoments} of ${r.samples} samples${kinds ? ` (${kinds})` : ""}; allowed overlaps: surge ${r.allowedOverlaps.surge}, stale ${r.allowedOverlaps.stale}`,
    `  convergence:          p50 ${sec(quantile(r.convergenceMs, 0.5))}, p99 ${sec(quantile(r.convergenceMs, 0.99))}, max ${sec(quantile(r.convergenceMs, 1))}`,
    `  crashes:              controller ${r.controllerCrashes}, agents ${r.agentCrashes}`,
    `  requests (web):       ${r.requests.ok} ok, ${r.requests.failed} failed`,
    ...r.violations.map((v) => `  VIOLATION round ${v.round}: ${v.kind}: ${v.detail} (reproduce: --seed ${r.seed})`),
  ].join("\n");
}

/**
 * Runs the chaos rounds and returns the figures; never throws for a violation (it is in
 * `violations`), only for a harness failure. Everything it starts is gone when it returns,
 * also on a throw.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const hostsN = o.hosts ?? 6;
  const actionMs = o.actionMs ?? 8000;
  const boundMs = o.convergeBoundMs ?? 30_000;
  const log = o.log ?? (() => undefined);
  const rnd = prng(o.seed);
  const res: ChaosResult = {
    seed: o.seed,
    rounds: 0,
    faults: { controller: 0, agent: 0, partition: 0 },
    writes: { acked: 0, unacked: 0, lost: 0 },
    samples: 0,
    duplicateMoments: 0,
    duplicatesByKind: {},
    allowedOverlaps: { surge: 0, stale: 0 },
    convergenceMs: [],
    controllerCrashes: 0,
    agentCrashes: 0,
    requests: { ok: 0, failed: 0 },
    violations: [],
  };
  let round = 0;

  const c = await Cluster.start({ hosts: hostsN, ttl: TTL, heartbeat: "500ms", mode: "netns" });
  const run = new ChaosFleet(c, hostsN, log);
  // Ctrl-C: the topology's own hook (registered first) has killed every process and removed
  // the namespaces synchronously by the time this runs; the data dirs are left to remove.
  const onSignal = (): void => {
    rmSync(c.dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await run.setUp();
    run.onCrash = (what, detail) => {
      if (what === "controller") res.controllerCrashes++;
      else res.agentCrashes++;
      res.violations.push({ round, kind: "crash", detail: `${what} ${detail}` });
    };
    run.onSample = (copies) => {
      res.samples++;
      const j = judgeCopies(copies, RULES, (h) => run.disturbed(h));
      res.allowedOverlaps.surge += j.allowed.surge;
      res.allowedOverlaps.stale += j.allowed.stale;
      if (j.duplicates.length === 0) return;
      res.duplicateMoments++;
      for (const d of j.duplicates) {
        res.duplicatesByKind[d.kind] = (res.duplicatesByKind[d.kind] ?? 0) + 1;
        // One line per kind and round is enough to reproduce; the count says how long.
        if (!res.violations.some((v) => v.round === round && v.kind === d.kind)) res.violations.push({ round, kind: d.kind, detail: d.detail });
      }
    };
    await run.deploy();
    run.startSampling(o.sampleIntervalMs ?? 200);

    for (round = 1; round <= o.rounds; round++) {
      const sched = drawSchedule(rnd, actionMs, o.agentDownMaxMs);
      const t0 = Date.now();
      const faultDone = sched.faults.map(async (f) => {
        await sleep(f.atMs);
        res.faults[f.kind]++;
        await run.inject(f, o.killFencedAgent ?? true);
      });
      const writesDone = (async () => {
        for (const { atMs, w } of sched.writes) {
          await sleep(Math.max(0, t0 + atMs - Date.now()));
          await run.write(w);
        }
      })();
      await Promise.all([...faultDone, writesDone]);
      const healedAt = Date.now();
      const faultText = sched.faults.map((f) => `${f.kind}${f.host ? ` h${f.host}` : ""} at +${(f.atMs / 1000).toFixed(1)}s for ${(f.downMs / 1000).toFixed(1)}s`).join(", ");

      const lost = await run.checkWrites();
      res.writes.lost += lost.length;
      for (const l of lost) res.violations.push({ round, kind: "lost-write", detail: l });

      const conv = await run.converge(healedAt, boundMs);
      if (conv.ms !== undefined) res.convergenceMs.push(conv.ms);
      if (conv.ms === undefined || conv.ms > boundMs) {
        const when = conv.ms === undefined ? `not converged ${(boundMs + MEASURE_SLACK_MS) / 1000} s after` : `converged only ${(conv.ms / 1000).toFixed(1)} s after`;
        res.violations.push({ round, kind: "no-convergence", detail: `${when} the faults (${faultText}) were healed (bound ${boundMs / 1000} s)${conv.why ? `: ${conv.why}` : ""}` });
      }
      res.rounds = round;
      log(`round ${round}/${o.rounds}: faults ${faultText}; ${sched.writes.length} writes; ${conv.ms !== undefined ? `converged in ${(conv.ms / 1000).toFixed(1)} s (seen by a poll at +${((conv.seenMs ?? 0) / 1000).toFixed(1)} s)` : "NOT converged"}`);
      // A fleet that did not converge would blame the next round for this one's fault.
      if (conv.ms === undefined) break;
    }
  } finally {
    run.stopping = true;
    await run.stopSampling();
    const load = await run.stopLoad();
    res.requests = load;
    res.writes.acked = run.acked;
    res.writes.unacked = run.unacked;
    if (res.violations.length > 0) await c.dumpLogs().catch(() => undefined);
    await c.destroy();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return res;
}

/** The fleet under chaos: the writes and what was acknowledged, the faults, the sampler. */
class ChaosFleet {
  onCrash: (what: string, detail: string) => void = () => undefined;
  onSample: (copies: Copy[]) => void = () => undefined;
  acked = 0;
  unacked = 0;
  private client = 0;
  private ids: string[] = [];
  private load: ChildProcess | undefined;
  private loadFile = "";
  private specDir = "";
  /** Per service: the CHAOS_W value in its file (last attempted) and the last acknowledged. */
  private readonly w = new Map<Service, { attempted: number; acked: number }>();
  /** Per service: the highest revision an acknowledged restart announced. */
  private readonly restarted = new Map<Service, number>();
  /** Per host index: the cordon state of the last acknowledged call, and of every later attempt. */
  private readonly cordon = new Map<number, { acked: boolean; later: boolean[] }>();
  private seq = 0;
  /** Host index → when its disturbance ends (Infinity until its agent reconnects after the fault). */
  private readonly disturbedUntil = new Map<number, number>();
  /** Host index → when its fault ended, while its agent has not reconnected since. */
  private readonly awaitingReconnect = new Map<number, number>();
  /** Processes we are killing: their exit is no crash. */
  private readonly expected = new WeakSet<ChildProcess>();
  private sampling: Promise<void> | undefined;
  private samplingOn = false;
  private lastCopies: Copy[] = [];
  /** When the sampled copies last changed (a process started or ended). */
  private copiesChangedAt = 0;
  private readonly hostNs = new Map<number, string>();
  private readonly busy = new Set<number>();
  private controllerOps: Promise<void> = Promise.resolve();
  /** Set at teardown: processes end then, none of them crashed. */
  stopping = false;

  constructor(
    private readonly c: Cluster,
    private readonly hostsN: number,
    private readonly log: (line: string) => void,
  ) {}

  async setUp(): Promise<void> {
    this.ids = await Promise.all(Array.from({ length: this.hostsN }, (_, k) => this.c.hostIdOf(k + 1)));
    for (let i = 1; i <= this.hostsN; i++) this.hostNs.set(i, `${this.c.topo.prefix}h${i}`);
    // The client node: the CLI and the load generator run here, so killing the
    // controller's node kills the controller alone.
    this.client = await this.c.topo.addHost();
    this.watch(this.c.controller, "controller");
    for (const [i, p] of this.c.agents) this.watch(p, i);
    this.specDir = join(this.c.dir, "specs", "chaos");
    await mkdir(this.specDir, { recursive: true });
    for (const s of SERVICES) this.w.set(s, { attempted: 1, acked: 0 });
    for (let i = 1; i <= this.hostsN; i++) this.cordon.set(i, { acked: false, later: [] });
  }

  /** Host i's agent (re)connected: a disturbance whose fault has ended now runs out after the grace. */
  private reconnected(i: number): void {
    const endedAt = this.awaitingReconnect.get(i);
    if (endedAt === undefined || this.busy.has(i)) return;
    this.awaitingReconnect.delete(i);
    this.disturbedUntil.set(i, Date.now() + RECONNECT_GRACE_MS);
  }

  disturbed(host: number): boolean {
    const endedAt = this.awaitingReconnect.get(host);
    if (endedAt !== undefined && Date.now() < endedAt + AWAIT_RECONNECT_MS) return true;
    return (this.disturbedUntil.get(host) ?? 0) > Date.now();
  }

  /**
   * A berth process that exits without us killing it crashed: counted, and restarted as
   * a supervisor would, so the run keeps measuring.
   */
  private watch(p: ChildProcess | undefined, what: "controller" | number): void {
    if (p && what !== "controller") {
      let partial = "";
      p.stdout?.on("data", (chunk: Buffer) => {
        const lines = (partial + chunk.toString("utf8")).split("\n");
        partial = lines.pop() ?? "";
        if (lines.some((l) => l.includes('"msg":"connected"'))) this.reconnected(what);
      });
    }
    p?.once("exit", (code, signal) => {
      if (this.expected.has(p) || this.stopping) return;
      const out = recentOutput(p);
      const detail = `exited on its own (code ${code}, signal ${signal}); last output:\n${(out.stdout + out.stderr).split("\n").slice(-15).join("\n")}`;
      this.log(`${what === "controller" ? "controller" : `agent h${what}`} ${detail}`);
      this.onCrash(what === "controller" ? "controller" : `agent h${what}`, detail);
      if (what === "controller") void this.exclusive(() => this.restartController(0));
      else this.watch(this.c.startAgent(what), what);
    });
  }

  /** Kills the controller (if it runs) and starts it again on its data dir after downMs. */
  private async restartController(downMs: number): Promise<void> {
    if (this.c.controller) this.expected.add(this.c.controller);
    await this.c.killController();
    await sleep(downMs);
    await this.c.startController();
    this.watch(this.c.controller, "controller");
  }

  /** Controller restarts one at a time: two on one data dir would fight over its lock. */
  private exclusive(fn: () => Promise<void>): Promise<void> {
    const next = this.controllerOps.then(fn);
    this.controllerOps = next.catch(() => undefined);
    return next;
  }

  private cli(args: string[]): Promise<CliResult> {
    return this.c.cli(args, { node: this.client, timeoutMs: CLI_TIMEOUT_MS }).catch((e: unknown) => ({ code: null, stdout: "", stderr: String(e) }));
  }

  private async status(name: string): Promise<StatusJson & { spec: { run: { env: Record<string, string> } } }> {
    const r = await this.cli(["status", name, "-o", "json"]);
    if (r.code !== 0) throw new Error(`status ${name}: ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout) as StatusJson & { spec: { run: { env: Record<string, string> } } };
  }

  private async writeSpecs(): Promise<void> {
    for (const s of SERVICES) await writeFile(join(this.specDir, `${s}.yaml`), spec(s, this.w.get(s)!.attempted));
  }

  async deploy(): Promise<void> {
    await this.writeSpecs();
    const r = await this.c.cli(["apply", "-f", this.specDir], { node: this.client, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`the first apply failed: ${r.stderr}`);
    for (const s of SERVICES) this.w.get(s)!.acked = 1;
    const conv = await this.converge(Date.now(), 60_000);
    if (conv.ms === undefined) throw new Error(`the fleet did not come up: ${conv.why}`);
    this.loadFile = join(this.c.dir, "load.jsonl");
    this.load = this.c.topo.spawn(this.client, [process.execPath, LOADGEN, BERTH_MAIN, "web", this.loadFile, "20"], { env: this.c.env() });
  }

  async write(w: Write): Promise<void> {
    this.seq++;
    switch (w.kind) {
      case "apply": {
        const st = this.w.get(w.service)!;
        st.attempted = this.seq + 1;
        await this.writeSpecs();
        const r = await this.cli(["apply", "-f", this.specDir]);
        if (r.code === 0) {
          // Every file's value is in the store now, the earlier unacknowledged ones too.
          for (const s of this.w.values()) s.acked = s.attempted;
          this.acked++;
        } else this.unacked++;
        return;
      }
      case "restart": {
        const r = await this.cli(["restart", w.service]);
        const m = /rolling out revision (\d+)/.exec(r.stdout);
        if (r.code === 0 && m) {
          this.restarted.set(w.service, Math.max(this.restarted.get(w.service) ?? 0, Number(m[1])));
          this.acked++;
        } else this.unacked++;
        return;
      }
      case "cordon": {
        // At most one host cordoned: the fleet needs its spares for surges and failover.
        const cordoned = [...this.cordon].find(([, s]) => s.later.at(-1) ?? s.acked);
        const i = cordoned ? cordoned[0] : 1 + Math.floor(w.pick * this.hostsN);
        const want = !cordoned;
        const st = this.cordon.get(i)!;
        const r = await this.cli([want ? "cordon" : "uncordon", this.ids[i - 1]!]);
        if (r.code === 0) {
          st.acked = want;
          st.later = [];
          this.acked++;
        } else {
          st.later.push(want);
          this.unacked++;
        }
        return;
      }
    }
  }

  async inject(f: Fault, killFencedAgent: boolean): Promise<void> {
    switch (f.kind) {
      case "controller":
        return this.exclusive(() => this.restartController(f.downMs));
      case "agent":
      case "partition": {
        const fencedHosts = new Set(this.lastCopies.filter((x) => RULES.get(x.service)?.fenced).map((x) => x.host));
        const i = this.pickHost(f.pick, f.kind === "agent" && !killFencedAgent ? fencedHosts : new Set());
        f.host = i;
        this.busy.add(i);
        this.disturbedUntil.set(i, Infinity);
        try {
          if (f.kind === "agent") {
            const p = this.c.agents.get(i);
            if (p?.pid !== undefined && p.exitCode === null && p.signalCode === null) {
              this.expected.add(p);
              const exited = new Promise((r) => p.once("exit", r));
              // The agent's process group only: its services run in sessions of their own and survive.
              process.kill(-p.pid, "SIGKILL");
              await exited;
            }
            await sleep(f.downMs);
            this.watch(this.c.startAgent(i), i);
          } else {
            await this.c.topo.partition(i);
            await sleep(f.downMs);
            await this.c.topo.heal(i);
          }
        } finally {
          this.awaitingReconnect.set(i, Date.now());
          this.busy.delete(i);
        }
        return;
      }
    }
  }

  /** A host that runs a copy now (faults there matter most), else any; never one already under a fault. */
  private pickHost(pick: number, avoid: ReadonlySet<number>): number {
    const free = (h: number): boolean => !this.busy.has(h) && !avoid.has(h);
    const running = [...new Set(this.lastCopies.map((c) => c.host))].filter(free).sort((a, b) => a - b);
    const any = Array.from({ length: this.hostsN }, (_, k) => k + 1).filter(free);
    const from = running.length > 0 ? running : any;
    return from[Math.floor(pick * from.length)]!;
  }

  /** Acknowledged writes missing from the stored state, one line each. */
  async checkWrites(): Promise<string[]> {
    const lost: string[] = [];
    const [statuses, hosts] = await Promise.all([
      Promise.all(SERVICES.map((s) => waitFor(() => this.status(s), { timeoutMs: 60_000, intervalMs: 250, what: `status of ${s}` }))),
      waitFor(() => this.cliJson<HostJson[]>(["hosts"]), { timeoutMs: 60_000, intervalMs: 250, what: "hosts" }),
    ]);
    SERVICES.forEach((s, k) => {
      const st = statuses[k]!;
      const stored = Number(st.spec.run.env["CHAOS_W"]);
      const w = this.w.get(s)!;
      if (!(stored >= w.acked && stored <= w.attempted)) lost.push(`${s}: stored CHAOS_W=${stored}, acknowledged ${w.acked} (last attempted ${w.attempted})`);
      const rev = this.restarted.get(s) ?? 0;
      if (st.revision < rev) lost.push(`${s}: stored revision ${st.revision}, an acknowledged restart rolled out revision ${rev}`);
    });
    for (const [i, st] of this.cordon) {
      const h = hosts.find((x) => x.id === this.ids[i - 1]);
      if (h && h.cordoned !== st.acked && !st.later.includes(h.cordoned)) lost.push(`host h${i}: cordoned=${h.cordoned}, acknowledged ${st.acked}`);
    }
    return lost;
  }

  private async cliJson<T>(args: string[]): Promise<T> {
    const r = await this.cli([...args, "-o", "json"]);
    if (r.code !== 0) throw new Error(`berth ${args.join(" ")}: ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Why the fleet is not what the store says, or undefined when it is (see converge). */
  private async notConverged(): Promise<string | undefined> {
    const [copies, statuses] = await Promise.all([listCopies(this.hostNs), Promise.all(SERVICES.map((s) => this.status(s)))]);
    const seen = new Set<number>();
    for (const st of statuses) {
      const want = WANT[st.name as Service];
      if (st.instances.length !== want) return `${st.name}: ${st.instances.length} of ${want} instances`;
      for (const i of st.instances) {
        if (i.state !== "healthy" || i.revision !== st.revision || i.moving_to) return `${i.instance}: ${i.state} at revision ${i.revision} of ${st.revision}${i.moving_to ? `, moving to ${i.moving_to}` : ""}`;
        const mine = copies.filter((x) => x.service === st.name && x.instance === i.instance);
        const host = this.ids.indexOf(i.host) + 1;
        if (mine.length !== 1 || mine[0]!.host !== host || mine[0]!.epoch !== i.epoch) {
          return `${i.instance}: recorded on h${host} epoch ${i.epoch}, running ${mine.map((x) => `h${x.host}@${x.epoch}`).join(", ") || "nowhere"}`;
        }
        seen.add(mine[0]!.pid);
      }
    }
    const extra = copies.filter((x) => !seen.has(x.pid));
    if (extra.length > 0) return `stray copies: ${extra.map((x) => `${x.instance}@${x.epoch} on h${x.host}`).join(", ")}`;
    return undefined;
  }

  /**
   * Polls until the fleet is what the store says: every wanted instance healthy at the
   * stored revision, and the real processes exactly those (one per slot, on the recorded
   * host with the recorded epoch, nothing else). A poll goes through the CLI, which takes
   * seconds on a loaded machine, so the time is not when a poll saw it but when it became
   * so: the later of the last change of the real processes (sampled every 200 ms) and the
   * last instance.healthy event before the poll. Gives up `boundMs` + MEASURE_SLACK_MS after
   * `fromMs`; the caller compares the time with the bound.
   */
  async converge(fromMs: number, boundMs: number): Promise<{ ms?: number; seenMs?: number; why: string }> {
    let why = "no check finished";
    let told = why;
    let seenAt = 0;
    try {
      await waitFor(
        async () => {
          if (why !== told) {
            // Each new reason once, timed: where convergence spends its time.
            this.log(`  converging +${((Date.now() - fromMs) / 1000).toFixed(1)} s: ${why}`);
            told = why;
          }
          const started = Date.now();
          const not = await this.notConverged();
          if (not !== undefined) return void (why = not);
          seenAt = started;
          return true;
        },
        { timeoutMs: Math.max(0, fromMs + boundMs + MEASURE_SLACK_MS - Date.now()), intervalMs: 250, what: "convergence" },
      );
    } catch {
      return { why };
    }
    const events = await this.cliJson<EventJson[]>(["events", "-n", "2000"]).catch(() => []);
    const healthy = events.filter((e) => e.type === "instance.healthy" && e.time_ms <= seenAt && (SERVICES as readonly string[]).includes(e.service)).map((e) => e.time_ms);
    const at = Math.min(seenAt, Math.max(fromMs, this.copiesChangedAt, ...healthy));
    return { ms: at - fromMs, seenMs: seenAt - fromMs, why: "" };
  }

  startSampling(intervalMs: number): void {
    this.samplingOn = true;
    this.sampling = (async () => {
      while (this.samplingOn) {
        const started = Date.now();
        try {
          const copies = await listCopies(this.hostNs);
          const key = (cs: readonly Copy[]): string => cs.map((x) => `${x.pid}/${x.epoch}`).join(",");
          if (key(copies) !== key(this.lastCopies)) this.copiesChangedAt = started;
          this.lastCopies = copies;
          this.onSample(this.lastCopies);
        } catch (e) {
          this.log(`sample failed: ${String(e)}`);
        }
        await sleep(Math.max(0, intervalMs - (Date.now() - started)));
      }
    })();
  }

  async stopSampling(): Promise<void> {
    this.samplingOn = false;
    await this.sampling;
  }

  async stopLoad(): Promise<{ ok: number; failed: number }> {
    const p = this.load;
    if (!p) return { ok: 0, failed: 0 };
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await Promise.race([exited, sleep(5000)]);
    }
    const lines = (await readFile(this.loadFile, "utf8").catch(() => "")).split("\n").filter(Boolean);
    let ok = 0;
    let failed = 0;
    for (const l of lines) {
      const v = JSON.parse(l) as { ok?: boolean };
      if (v.ok === true) ok++;
      else if (v.ok === false) failed++;
    }
    return { ok, failed };
  }
}
