/**
 * Simulated agents for the controller benchmark. Each one does what a real agent
 * (agent/session/session.ts) does on the wire — its own key and CSR, Join, then its
 * own channel with its own client certificate (so its own TLS connection, as a real
 * host has), Connect, Hello with full facts, a Heartbeat with usage every interval —
 * and nothing else: no disk, no facts collection, no reconnects. A disconnect here
 * is a finding, not something to paper over.
 *
 * One Simulator drives a contiguous slice [firstIndex, firstIndex + count) of the
 * fleet, so the same code runs in the bench process or split over worker processes.
 */
import * as grpc from "@grpc/grpc-js";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { loadProtos } from "../shared/proto.js";
import { channelOptions, createKeyAndCsr, grpcClientCredentials } from "../shared/tls/pki.js";
import type { AgentServiceClient } from "../shared/gen/berth/v1/AgentService.js";
import type { AgentMessage } from "../shared/gen/berth/v1/AgentMessage.js";
import type { ControllerMessage__Output } from "../shared/gen/berth/v1/ControllerMessage.js";
import type { HostFacts } from "../shared/gen/berth/v1/HostFacts.js";
import type { JoinResponse__Output } from "../shared/gen/berth/v1/JoinResponse.js";
import type { Usage } from "../shared/gen/berth/v1/Usage.js";

export interface SimConfig {
  /** HOST:PORT of the controller. */
  addr: string;
  caPem: string;
  joinToken: string;
  /** One real collectFacts() result; each agent sends it with its own hostname. */
  facts: HostFacts;
  firstIndex: number;
  count: number;
  /** Fleet size across all simulators: phases are spread over all of it. */
  total: number;
  intervalMs: number;
  /** Agents being set up (key, join, connect) at once. */
  concurrency: number;
  /**
   * Join calls in flight at once. Joins with one token serialize at the controller
   * anyway (it compare-and-sets the token record; a loser gets ABORTED), so more
   * in flight only buys retries and wasted CSR signing.
   */
  joinConcurrency: number;
  /** Origin of the phase grid in wall-clock ms, shared by every simulator process. */
  phaseEpochMs: number;
}

export interface SetupReport {
  connected: number;
  failed: number;
  /** Join attempts repeated after ABORTED (token CAS race) or UNAVAILABLE. */
  joinRetries: number;
  setupMs: number;
  errorSamples: string[];
}

export interface SimResult {
  agents: number;
  /** Heartbeats sent inside the window. */
  sent: number;
  /** Of those, acked (by the end of the grace period). */
  acked: number;
  /** Of those, never acked. */
  lost: number;
  /** Beats not sent because the stream was not draining (backpressure). */
  skipped: number;
  /** Acks for a seq this agent had no record of. */
  strayAcks: number;
  errors: number;
  disconnects: number;
  /** Send→ack time of each acked in-window heartbeat, ms. */
  latenciesMs: number[];
  /** This process's CPU time (user + sys) over the window, ms. */
  cpuMs: number;
  windowMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  rssMb: number;
  errorSamples: string[];
}

const MAX_ERROR_SAMPLES = 10;
const WELCOME_TIMEOUT_MS = 30_000;
const JOIN_DEADLINE_MS = 30_000;
const MAX_JOIN_ATTEMPTS = 200;
const LOOP_RESOLUTION_MS = 5;

/** Wall-clock ms that never goes backwards within a process; comparable across processes. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function grpcCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === "number" ? c : undefined;
}

export function errText(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown } | null;
  return typeof e?.details === "string" && e.details ? e.details : typeof e?.message === "string" ? e.message : String(err);
}

/** At most `max` async tasks at a time; the rest wait in arrival order. */
class Gate {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter (active stays the same), or free it.
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Shared by all agents of one simulator: counters for the current window. */
class Recorder {
  measuring = false;
  sent = 0;
  acked = 0;
  skipped = 0;
  strayAcks = 0;
  errors = 0;
  disconnects = 0;
  latenciesMs: number[] = [];
  errorSamples: string[] = [];
  /** In-window heartbeats not yet acked; the window closes when this reaches 0. */
  outstanding = 0;
  onDrained: (() => void) | undefined;

  error(what: string): void {
    this.errors++;
    if (this.errorSamples.length < MAX_ERROR_SAMPLES) this.errorSamples.push(what);
  }

  settle(): void {
    this.outstanding--;
    if (this.outstanding === 0) this.onDrained?.();
  }
}

interface Pending {
  t: number;
  counted: boolean;
}

class SimAgent {
  private call: grpc.ClientDuplexStream<AgentMessage, ControllerMessage__Output> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private nextAt: number | undefined;
  private blocked = false;
  private closing = false;
  private welcomed = false;
  private readonly pending = new Map<number, Pending>();
  /** First beat of this agent on the shared grid: index/total of an interval in. */
  private readonly phase0: number;
  private readonly memTotal: number;

  constructor(
    private readonly index: number,
    private readonly hostId: string,
    private readonly client: AgentServiceClient,
    private readonly cfg: SimConfig,
    private readonly rec: Recorder,
  ) {
    this.phase0 = cfg.phaseEpochMs + (index / cfg.total) * cfg.intervalMs;
    this.memTotal = Number(cfg.facts.memory_total_bytes ?? 0) || 8 * 1024 ** 3;
  }

  /** Opens the stream and sends Hello; resolves at Welcome, rejects if none comes. */
  open(hostname: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = this.client.Connect();
      this.call = call;
      const giveUp = setTimeout(() => {
        reject(new Error(`no Welcome within ${WELCOME_TIMEOUT_MS} ms`));
        this.close();
      }, WELCOME_TIMEOUT_MS);
      call.on("data", (m: ControllerMessage__Output) => {
        if (m.msg === "heartbeat_ack" && m.heartbeat_ack) this.acked(m.heartbeat_ack.seq);
        else if (m.msg === "welcome" && m.welcome && !this.welcomed) {
          this.welcomed = true;
          clearTimeout(giveUp);
          if (m.welcome.heartbeat_interval_ms !== this.cfg.intervalMs) {
            this.rec.error(`controller says heartbeat every ${m.welcome.heartbeat_interval_ms} ms, bench uses ${this.cfg.intervalMs} ms`);
          }
          this.scheduleNext();
          resolve();
        }
        // Assignment: the controller sends "run nothing"; a real agent converges to it, we ignore it.
      });
      call.on("error", (err) => {
        if (this.closing) return;
        clearTimeout(giveUp);
        if (!this.welcomed) reject(err);
        else this.lost(`stream error: ${errText(err)}`);
      });
      call.on("end", () => {
        if (this.closing) return;
        clearTimeout(giveUp);
        if (!this.welcomed) reject(new Error("controller closed the stream before Welcome"));
        else this.lost("controller closed the stream");
      });
      call.write({
        hello: {
          host_id: this.hostId,
          facts: { ...this.cfg.facts, hostname },
          labels: { bench: "agents", rack: `r${this.index % 40}` },
          advertise_addr: "",
          running: [],
        },
      });
    });
  }

  private lost(why: string): void {
    this.rec.disconnects++;
    this.rec.error(`agent ${this.index}: ${why}`);
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Next beat at the next point of this agent's grid (phase0 + k·interval), not
   * "interval after the last one": a late beat (event-loop lag) does not shift the
   * agent's phase, so the fleet's load stays evenly spread over the interval.
   */
  private scheduleNext(): void {
    if (this.closing) return;
    const now = wallNow();
    const step = this.cfg.intervalMs;
    // Advance from the previous grid point, not from "now": Node may fire a timer up
    // to a millisecond early (its clock is whole ms), and recomputing from now would
    // then pick the same grid point again and beat twice.
    this.nextAt = this.nextAt === undefined ? this.phase0 + (Math.floor((now - this.phase0) / step) + 1) * step : this.nextAt + step;
    // Fell behind by more than a whole interval (a stalled event loop): skip, don't burst.
    if (this.nextAt < now) this.nextAt = this.phase0 + (Math.floor((now - this.phase0) / step) + 1) * step;
    this.timer = setTimeout(this.beat, Math.max(1, Math.ceil(this.nextAt - now)));
  }

  private readonly beat = (): void => {
    this.scheduleNext();
    const call = this.call;
    if (!call) return;
    // As the real agent does: skip beats while the socket is not draining rather
    // than queue them without bound.
    if (this.blocked) {
      if (this.rec.measuring) this.rec.skipped++;
      return;
    }
    const seq = ++this.seq;
    const counted = this.rec.measuring;
    if (counted) {
      this.rec.sent++;
      this.rec.outstanding++;
    }
    this.pending.set(seq, { t: performance.now(), counted });
    const ok = call.write({ heartbeat: { seq, sent_at_ms: Date.now(), usage: this.usage() } });
    if (!ok) {
      this.blocked = true;
      call.once("drain", () => (this.blocked = false));
    }
  };

  private acked(seq: number): void {
    const p = this.pending.get(seq);
    if (!p) {
      this.rec.strayAcks++;
      return;
    }
    this.pending.delete(seq);
    if (p.counted) {
      this.rec.acked++;
      this.rec.latenciesMs.push(performance.now() - p.t);
      this.rec.settle();
    }
  }

  /** In-window heartbeats still waiting for an ack. */
  unacked(): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.counted) n++;
    return n;
  }

  /** A plausible, slowly varying sample: same shape and size as the real UsageSampler's. */
  private usage(): Usage {
    const base = 0.2 + (this.index % 7) * 0.15;
    const jitter = Math.random();
    return {
      load1: base + jitter * 0.3,
      load5: base + jitter * 0.1,
      load15: base,
      cpu_percent: Math.round(jitter * 1000) / 10,
      memory_used_bytes: Math.round(this.memTotal * (0.3 + jitter * 0.1)),
      memory_total_bytes: this.memTotal,
      disk_used_bytes: 42_000_000_000 + (this.index % 100) * 1_000_000,
      disk_total_bytes: 250_000_000_000,
    };
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.timer);
    this.call?.cancel();
    this.client.close();
  }
}

export class Simulator {
  private readonly agents: SimAgent[] = [];
  private readonly rec = new Recorder();
  private joinClient: AgentServiceClient | undefined;
  private readonly joinGate: Gate;
  private closed = false;
  private window: { cpu: NodeJS.CpuUsage; t: number; loop: ReturnType<typeof monitorEventLoopDelay> } | undefined;

  constructor(private readonly cfg: SimConfig) {
    this.joinGate = new Gate(Math.max(1, cfg.joinConcurrency));
  }

  /** Joins and connects every agent of this slice, `concurrency` at a time. Never rejects on one agent's failure. */
  async setup(onProgress: (done: number, failed: number) => void): Promise<SetupReport> {
    const t0 = performance.now();
    const Service = loadProtos().agent.berth.v1.AgentService;
    // One channel for all Joins: joining is setup, not what is measured, and sharing
    // it spares the controller 1,000 extra TLS handshakes the real fleet spreads over days.
    this.joinClient = new Service(this.cfg.addr, grpcClientCredentials(this.cfg.caPem), channelOptions());
    let next = 0;
    let done = 0;
    let failed = 0;
    let joinRetries = 0;
    const errorSamples: string[] = [];
    const one = async (i: number): Promise<void> => {
      const index = this.cfg.firstIndex + i;
      const hostname = `bench-${String(index).padStart(5, "0")}`;
      const facts: HostFacts = { ...this.cfg.facts, hostname };
      const { keyPem, csrPem } = await createKeyAndCsr(hostname);
      const { res, retries } = await this.join(csrPem, facts);
      joinRetries += retries;
      if (this.closed) throw new Error("simulator closed");
      const client = new Service(this.cfg.addr, grpcClientCredentials(res.ca_pem, { certPem: res.certificate_pem, keyPem }), {
        ...channelOptions(),
        // Never share a connection between agents, whatever grpc-js's global pool decides:
        // 1,000 hosts means 1,000 TLS connections at the controller.
        "grpc.use_local_subchannel_pool": 1,
      });
      const agent = new SimAgent(index, res.host_id, client, this.cfg, this.rec);
      this.agents.push(agent);
      await agent.open(hostname);
    };
    const lane = async (): Promise<void> => {
      while (next < this.cfg.count && !this.closed) {
        const i = next++;
        try {
          await one(i);
          done++;
        } catch (err) {
          failed++;
          if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(`agent ${this.cfg.firstIndex + i}: ${errText(err)}`);
        }
        onProgress(done, failed);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.cfg.concurrency, this.cfg.count)) }, lane));
    this.joinClient.close();
    this.joinClient = undefined;
    return { connected: done, failed, joinRetries, setupMs: performance.now() - t0, errorSamples };
  }

  private async join(csrPem: string, facts: HostFacts): Promise<{ res: JoinResponse__Output; retries: number }> {
    const client = this.joinClient;
    if (!client) throw new Error("simulator is not set up");
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.joinGate.run(
          () =>
            new Promise<JoinResponse__Output>((resolve, reject) =>
              client.Join(
                { token: this.cfg.joinToken, csr_pem: csrPem, facts, labels: { bench: "agents" }, advertise_addr: "" },
                { deadline: Date.now() + JOIN_DEADLINE_MS },
                (err, r) => (err || !r ? reject(err ?? new Error("empty join response")) : resolve(r)),
              ),
            ),
        );
        return { res, retries: attempt };
      } catch (err) {
        const code = grpcCode(err);
        // ABORTED: another join spent the same token use first (the controller
        // compare-and-sets the token record) — the controller says "try again".
        const transient = code === grpc.status.ABORTED || code === grpc.status.UNAVAILABLE;
        if (!transient || attempt >= MAX_JOIN_ATTEMPTS || this.closed) throw err;
        // Jittered and capped, so the racing lanes do not collide again in lockstep.
        await sleep(Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /** Starts a measurement window: counters reset, CPU and event-loop delay baselines taken. */
  startWindow(): void {
    const r = this.rec;
    r.sent = r.acked = r.skipped = r.strayAcks = r.errors = r.disconnects = r.outstanding = 0;
    r.latenciesMs = [];
    r.errorSamples = [];
    r.measuring = true;
    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    loop.enable();
    this.window = { cpu: process.cpuUsage(), t: performance.now(), loop };
  }

  /**
   * Ends the window: no new heartbeat counts from now; waits up to graceMs for the
   * acks of those already sent, then reports. Unacked ones count as lost.
   */
  async endWindow(graceMs: number): Promise<SimResult> {
    const w = this.window;
    if (!w) throw new Error("no window was started");
    const r = this.rec;
    r.measuring = false;
    const cpu = process.cpuUsage(w.cpu);
    const windowMs = performance.now() - w.t;
    w.loop.disable();
    if (r.outstanding > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        r.onDrained = () => {
          clearTimeout(t);
          resolve();
        };
      });
      r.onDrained = undefined;
    }
    const lost = this.agents.reduce((s, a) => s + a.unacked(), 0);
    return {
      agents: this.agents.length,
      sent: r.sent,
      acked: r.acked,
      lost,
      skipped: r.skipped,
      strayAcks: r.strayAcks,
      errors: r.errors,
      disconnects: r.disconnects,
      latenciesMs: r.latenciesMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      windowMs,
      // The histogram records whole timer periods: the delay is what exceeds the resolution.
      loopDelayP99Ms: Math.max(0, w.loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      loopDelayMaxMs: Math.max(0, w.loop.max / 1e6 - LOOP_RESOLUTION_MS),
      rssMb: process.memoryUsage.rss() / 1024 / 1024,
      errorSamples: r.errorSamples,
    };
  }

  close(): void {
    this.closed = true;
    this.joinClient?.close();
    for (const a of this.agents) a.close();
  }
}
