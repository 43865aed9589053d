/**
 * Simulated agents for the controller benchmark. Each one does what a real agent
 * (agent/session/session.ts) does on the wire — its own key and CSR, Join, then its
 * own channel with its own client certificate (so its own TLS connection, as a real
 * host has), Connect, Hello with full facts, a Heartbeat with usage every interval —
 * and nothing else: no disk, no facts collection.
 *
 * One controller (no `members`): no reconnects; a disconnect is a finding, not
 * something to paper over. A controller group (`members`): agent i joins through and
 * first connects to member i mod n, and when its stream ends it reconnects as the
 * real agent does — the same certificate, no new join; the next member in its own
 * random order after a loss, the preferred one after a MoveOn; the agent's own
 * delay (shared/members.ts reconnectDelayMs over shared/backoff.ts DEFAULT_BACKOFF,
 * capped at TTL/2); a channel in TRANSIENT_FAILURE replaced before it is dialled;
 * the stream dropped after a TTL without a word from the member.
 *
 * One Simulator drives a contiguous slice [firstIndex, firstIndex + count) of the
 * fleet, so the same code runs in the bench process or split over worker processes.
 */
import * as grpc from "@grpc/grpc-js";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { loadProtos } from "../shared/proto.js";
import { DEFAULT_BACKOFF } from "../shared/backoff.js";
import { QuietClock, tickStallMs } from "../shared/stalls.js";
import { MemberRotation, reconnectDelayMs, refusedAtOnce } from "../shared/members.js";
import { channelOptions, createKeyAndCsr, grpcClientCredentials } from "../shared/tls/pki.js";
import type { AgentServiceClient } from "../shared/gen/berth/v1/AgentService.js";
import type { AgentMessage } from "../shared/gen/berth/v1/AgentMessage.js";
import type { ControllerMessage__Output } from "../shared/gen/berth/v1/ControllerMessage.js";
import type { HostFacts } from "../shared/gen/berth/v1/HostFacts.js";
import type { JoinResponse__Output } from "../shared/gen/berth/v1/JoinResponse.js";
import type { Usage } from "../shared/gen/berth/v1/Usage.js";

export interface SimConfig {
  /** HOST:PORT of the controller (one controller; unused with `members`). */
  addr: string;
  /**
   * A controller group: every member's HOST:PORT. Agent i joins through and first
   * connects to members[i mod n]; streams that end are dialled again (see above).
   */
  members?: string[];
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
  /** The member (index into SimConfig.members; 0 with one controller) that acked each of latenciesMs. */
  latencyMembers: number[];
  /** Agents connected to each member at the window's end. */
  byMember: number[];
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
const STALL_TICK_MS = 100;
/** What the real agent treats as a refusal (agent/session/session.ts): its reconnect waits the cap. */
const FATAL = new Set<number>([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT]);

/** Where a simulator's agents are, for a reconnect storm (asked while it runs). */
export interface SimStatus {
  agents: number;
  /** Agents with a welcomed stream now. */
  connected: number;
  /** Of those, per member (index into SimConfig.members). */
  byMember: number[];
  /** Since the last resetReconnects(): each finished outage, stream lost → Welcome again, ms. */
  outagesMs: number[];
  /** Agents whose stream broke and that are not welcomed again yet. */
  away: number;
  /** Since the last resetReconnects(): streams dialled, of them ended before Welcome, MoveOns received. */
  dials: number;
  failedDials: number;
  moveOns: number;
  /** Why dials ended before a Welcome (digits blanked, so like errors add up), since the reset. */
  failReasons: Record<string, number>;
  /** Wall-clock ms of the last Welcome after an outage (0: none since the reset). */
  lastWelcomeMs: number;
  /** Since the reset: streams this simulator's own watchdog dropped (no word for a TTL). */
  watchdogDrops: number;
  /** Since the reset: how long this simulator process stalled (a 100 ms ticker late by 500 ms or more; shared/stalls.ts), in all and at most once. */
  stalledMs: number;
  stallMaxMs: number;
}

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
  latencyMembers: number[] = [];
  errorSamples: string[] = [];
  /** Welcomed streams now, per member. */
  byMember: number[];
  /** Reconnect figures since the last reset (SimStatus). */
  outagesMs: number[] = [];
  away = 0;
  dials = 0;
  failedDials = 0;
  moveOns = 0;
  failReasons = new Map<string, number>();
  lastWelcomeMs = 0;
  watchdogDrops = 0;
  stalledMs = 0;
  stallMaxMs = 0;
  /** In-window heartbeats not yet acked; the window closes when this reaches 0. */
  outstanding = 0;
  onDrained: (() => void) | undefined;

  constructor(members: number) {
    this.byMember = new Array<number>(Math.max(1, members)).fill(0);
  }

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
  /** Ends the current stream (the watchdog's way out). */
  private endStream: ((why: string) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private seq = 0;
  private nextAt: number | undefined;
  private blocked = false;
  private closing = false;
  /** The member index whose Welcome the current stream had; undefined between streams. */
  private member: number | undefined;
  private everWelcomed = false;
  /** Wall-clock ms the last welcomed stream broke, while the agent is away. */
  private lostAtMs: number | undefined;
  /** Dials in a row that did not end in a kept stream (session.ts's `failures`). */
  private failures = 0;
  /** When the current dial began (performance.now()): one that failed at once found nothing listening. */
  private dialledAt = 0;
  private ttlMs = 5000;
  private lastHeardMs = 0;
  /** The watchdog's quiet on the current stream, this process's own stalls left out. */
  private quiet: QuietClock | undefined;
  private firstWelcome: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /** One channel per member, made when first dialled, as the real agent keeps them. */
  private readonly clients = new Map<string, AgentServiceClient>();
  private readonly pending = new Map<number, Pending>();
  /** First beat of this agent on the shared grid: index/total of an interval in. */
  private readonly phase0: number;
  private readonly memTotal: number;

  constructor(
    private readonly index: number,
    private readonly hostId: string,
    private readonly hostname: string,
    private readonly credentials: grpc.ChannelCredentials,
    /** Group: the agent's own member order, starting at its assigned member. One controller: undefined. */
    private readonly rotation: MemberRotation | undefined,
    private readonly cfg: SimConfig,
    private readonly rec: Recorder,
  ) {
    this.phase0 = cfg.phaseEpochMs + (index / cfg.total) * cfg.intervalMs;
    this.memTotal = Number(cfg.facts.memory_total_bytes ?? 0) || 8 * 1024 ** 3;
  }

  private get members(): readonly string[] {
    return this.cfg.members ?? [this.cfg.addr];
  }

  /** Dials the first stream; resolves at its Welcome (group: from any member), rejects if none comes in time. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const giveUp = setTimeout(() => {
        this.firstWelcome = undefined;
        reject(new Error(`no Welcome within ${WELCOME_TIMEOUT_MS} ms`));
        this.close();
      }, WELCOME_TIMEOUT_MS);
      this.firstWelcome = {
        resolve: () => {
          clearTimeout(giveUp);
          resolve();
        },
        reject: (e) => {
          clearTimeout(giveUp);
          reject(e);
        },
      };
      this.dial(this.rotation?.current ?? this.cfg.addr);
    });
  }

  private clientFor(addr: string): AgentServiceClient {
    let c = this.clients.get(addr);
    // As the real agent does: a channel in TRANSIENT_FAILURE fails a call at once until
    // its own backoff is over, so a member that is back would not be reached; a fresh one dials now.
    if (c && c.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE) {
      c.close();
      c = undefined;
    }
    if (!c) {
      const Service = loadProtos().agent.berth.v1.AgentService;
      c = new Service(addr, this.credentials, {
        ...channelOptions(),
        // The real agent's: fail fast on a dead member; the session owns the retry policy.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2000,
        // Never share a connection between agents, whatever grpc-js's global pool decides:
        // 1,000 hosts means 1,000 TLS connections at the controller.
        "grpc.use_local_subchannel_pool": 1,
      });
      this.clients.set(addr, c);
    }
    return c;
  }

  /** One stream with one member, Hello to its end. */
  private dial(addr: string): void {
    if (this.closing) return;
    const memberIndex = Math.max(0, this.members.indexOf(addr));
    this.dialledAt = performance.now();
    const call = this.clientFor(addr).Connect();
    this.call = call;
    this.blocked = false;
    this.rec.dials++;
    let welcomed = false;
    let ended = false;
    const finish = (why: string, moveOn?: string, fatal = false): void => {
      if (ended) return;
      ended = true;
      if (this.call === call) {
        this.call = undefined;
        this.endStream = undefined;
      }
      call.removeAllListeners("data");
      call.on("error", () => undefined); // cancel() reports CANCELLED; nothing to do with it
      call.cancel();
      if (this.closing) return;
      this.streamEnded(welcomed, memberIndex, why, moveOn, fatal);
    };
    this.endStream = (why) => finish(why);
    call.on("data", (m: ControllerMessage__Output) => {
      this.lastHeardMs = performance.now();
      this.quiet?.heard(this.lastHeardMs);
      if (m.msg === "heartbeat_ack" && m.heartbeat_ack) this.acked(m.heartbeat_ack.seq, memberIndex);
      else if (m.msg === "read_receipt" && m.read_receipt) call.write({ read_receipt: { token: m.read_receipt.token } });
      else if (m.msg === "welcome" && m.welcome && !welcomed) {
        welcomed = true;
        if (m.welcome.heartbeat_interval_ms !== this.cfg.intervalMs) {
          this.rec.error(`controller says heartbeat every ${m.welcome.heartbeat_interval_ms} ms, bench uses ${this.cfg.intervalMs} ms`);
        }
        this.ttlMs = Math.max(1000, m.welcome.ttl_ms || this.ttlMs);
        this.welcomed(memberIndex);
      } else if (m.msg === "move_on" && m.move_on) {
        this.rec.moveOns++;
        finish(`member ${addr} asked this agent to move on: ${m.move_on.reason || "no reason given"}`, m.move_on.preferred);
      }
      // Assignment: the controller sends "run nothing"; a real agent converges to it, we ignore it.
    });
    call.on("error", (err) => {
      const code = grpcCode(err);
      finish(`stream error: ${errText(err)}`, undefined, code !== undefined && FATAL.has(code));
    });
    call.on("end", () => finish("controller closed the stream"));
    call.write({
      hello: {
        host_id: this.hostId,
        facts: { ...this.cfg.facts, hostname: this.hostname },
        labels: { bench: "agents", rack: `r${this.index % 40}` },
        advertise_addr: "",
        running: [],
      },
    });
  }

  private welcomed(memberIndex: number): void {
    this.member = memberIndex;
    // Ticked by each beat from now on (every interval): their lateness is this process's stall.
    this.quiet = new QuietClock(performance.now(), this.cfg.intervalMs, this.ttlMs);
    this.rec.byMember[memberIndex] = (this.rec.byMember[memberIndex] ?? 0) + 1;
    this.rotation?.welcomed();
    this.everWelcomed = true;
    if (this.lostAtMs !== undefined) {
      const now = wallNow();
      this.rec.outagesMs.push(now - this.lostAtMs);
      this.rec.lastWelcomeMs = Math.max(this.rec.lastWelcomeMs, now);
      this.rec.away--;
      this.lostAtMs = undefined;
    }
    const w = this.firstWelcome;
    this.firstWelcome = undefined;
    w?.resolve();
    this.scheduleNext();
  }

  private streamEnded(welcomed: boolean, memberIndex: number, why: string, moveOn: string | undefined, fatal: boolean): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Beats of a stream that is gone are never acked: in-window ones count as lost at the end.
    for (const [seq, p] of this.pending) if (!p.counted) this.pending.delete(seq);
    if (welcomed) {
      this.member = undefined;
      this.rec.byMember[memberIndex] = (this.rec.byMember[memberIndex] ?? 1) - 1;
      this.rec.disconnects++;
      if (this.rotation && this.rec.measuring && this.rec.errorSamples.length < MAX_ERROR_SAMPLES) this.rec.errorSamples.push(`agent ${this.index}: ${why}`);
      if (this.lostAtMs === undefined) {
        this.lostAtMs = wallNow();
        this.rec.away++;
      }
    } else {
      this.rec.failedDials++;
      const key = why.replace(/\d+/g, "N").slice(0, 120);
      if (this.rec.failReasons.size < 50 || this.rec.failReasons.has(key)) this.rec.failReasons.set(key, (this.rec.failReasons.get(key) ?? 0) + 1);
    }
    const rotation = this.rotation;
    if (!rotation) {
      // One controller: no reconnects. Before the first Welcome the setup fails; after it, the loss is the finding.
      if (!welcomed && this.firstWelcome) {
        const w = this.firstWelcome;
        this.firstWelcome = undefined;
        w.reject(new Error(why));
      } else if (welcomed) this.rec.error(`agent ${this.index}: ${why}`);
      return;
    }
    // The real agent's step (agent/session/session.ts run()): a member that sent the agent
    // away did not serve it; never the same member first after a MoveOn.
    this.failures = welcomed && moveOn === undefined ? 0 : this.failures + 1;
    const next = moveOn !== undefined ? rotation.movedOn(moveOn) : rotation.lost();
    const delay = reconnectDelayMs(DEFAULT_BACKOFF, { ttlMs: this.ttlMs, failures: this.failures, members: rotation.members.length, fatal, refused: refusedAtOnce({ welcomed, sentAway: moveOn !== undefined, tookMs: performance.now() - this.dialledAt }) });
    this.retry = setTimeout(() => this.dial(next), delay);
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
    // Fell behind by more than a whole interval (a stalled event loop, a reconnect): skip, don't burst.
    if (this.nextAt < now) this.nextAt = this.phase0 + (Math.floor((now - this.phase0) / step) + 1) * step;
    this.timer = setTimeout(this.beat, Math.max(1, Math.ceil(this.nextAt - now)));
  }

  private readonly beat = (): void => {
    this.scheduleNext();
    const call = this.call;
    if (!call || this.member === undefined) return;
    // The real agent's watchdog: a stream with no word for a TTL (and 3 beats) is dropped,
    // counting only the time this process ran (shared/stalls.ts QuietClock).
    const quietMs = this.quiet?.tick(performance.now()) ?? 0;
    if (this.rotation && quietMs > Math.max(this.ttlMs, 3 * this.cfg.intervalMs)) {
      this.rec.watchdogDrops++;
      this.endStream?.(`no word from the controller for ${Math.round(quietMs)} ms`);
      return;
    }
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
      call.once("drain", () => {
        if (this.call === call) this.blocked = false;
      });
    }
  };

  private acked(seq: number, memberIndex: number): void {
    const p = this.pending.get(seq);
    if (!p) {
      this.rec.strayAcks++;
      return;
    }
    this.pending.delete(seq);
    if (p.counted) {
      this.rec.acked++;
      this.rec.latenciesMs.push(performance.now() - p.t);
      this.rec.latencyMembers.push(memberIndex);
      this.rec.settle();
    }
  }

  /** In-window heartbeats still waiting for an ack. */
  unacked(): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.counted) n++;
    return n;
  }

  /** Welcomed at least once: part of the fleet (setup succeeded). */
  get joined(): boolean {
    return this.everWelcomed;
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
    clearTimeout(this.retry);
    this.call?.cancel();
    for (const c of this.clients.values()) c.close();
  }
}

export class Simulator {
  private readonly agents: SimAgent[] = [];
  private readonly rec: Recorder;
  /** Join channels, one per member joined through. */
  private readonly joinClients = new Map<string, AgentServiceClient>();
  private readonly joinGate: Gate;
  private closed = false;
  private window: { cpu: NodeJS.CpuUsage; t: number; loop: ReturnType<typeof monitorEventLoopDelay> } | undefined;
  private readonly stallTicker: NodeJS.Timeout;

  constructor(private readonly cfg: SimConfig) {
    this.joinGate = new Gate(Math.max(1, cfg.joinConcurrency));
    // This process's own stalls: a storm's figures mean little if the simulator, not the members, stood still.
    let last = performance.now();
    this.stallTicker = setInterval(() => {
      const now = performance.now();
      const ms = tickStallMs(now - last, STALL_TICK_MS);
      last = now;
      this.rec.stalledMs += ms;
      this.rec.stallMaxMs = Math.max(this.rec.stallMaxMs, ms);
    }, STALL_TICK_MS);
    this.stallTicker.unref();
    if (cfg.members && cfg.members.length === 0) throw new Error("SimConfig.members: empty");
    this.rec = new Recorder(cfg.members?.length ?? 1);
  }

  /** Joins and connects every agent of this slice, `concurrency` at a time. Never rejects on one agent's failure. */
  async setup(onProgress: (done: number, failed: number) => void): Promise<SetupReport> {
    const t0 = performance.now();
    let next = 0;
    let done = 0;
    let failed = 0;
    let joinRetries = 0;
    const errorSamples: string[] = [];
    const members = this.cfg.members;
    const one = async (i: number): Promise<void> => {
      const index = this.cfg.firstIndex + i;
      const hostname = `bench-${String(index).padStart(5, "0")}`;
      const facts: HostFacts = { ...this.cfg.facts, hostname };
      // A group: the fleet spread evenly, agent i on member i mod n; the rest of its order is its own.
      const assigned = members ? members[index % members.length]! : this.cfg.addr;
      let rotation: MemberRotation | undefined;
      if (members) {
        rotation = new MemberRotation(members);
        if (rotation.current !== assigned) rotation.movedOn(assigned);
      }
      const { keyPem, csrPem } = await createKeyAndCsr(hostname);
      const { res, retries } = await this.join(assigned, csrPem, facts);
      joinRetries += retries;
      if (this.closed) throw new Error("simulator closed");
      const creds = grpcClientCredentials(res.ca_pem, { certPem: res.certificate_pem, keyPem });
      const agent = new SimAgent(index, res.host_id, hostname, creds, rotation, this.cfg, this.rec);
      this.agents.push(agent);
      await agent.open();
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
    for (const c of this.joinClients.values()) c.close();
    this.joinClients.clear();
    return { connected: done, failed, joinRetries, setupMs: performance.now() - t0, errorSamples };
  }

  /**
   * One channel per member for all Joins: joining is setup, not what is measured, and
   * sharing it spares the controller 1,000 extra TLS handshakes the real fleet spreads over days.
   */
  private joinClient(addr: string): AgentServiceClient {
    let c = this.joinClients.get(addr);
    if (!c) {
      const Service = loadProtos().agent.berth.v1.AgentService;
      c = new Service(addr, grpcClientCredentials(this.cfg.caPem), channelOptions());
      this.joinClients.set(addr, c);
    }
    return c;
  }

  private async join(addr: string, csrPem: string, facts: HostFacts): Promise<{ res: JoinResponse__Output; retries: number }> {
    if (this.closed) throw new Error("simulator closed");
    const client = this.joinClient(addr);
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

  /** Where the agents are now, and the reconnect figures since resetReconnects(). */
  status(): SimStatus {
    const r = this.rec;
    return {
      agents: this.agents.filter((a) => a.joined).length,
      connected: r.byMember.reduce((s, n) => s + n, 0),
      byMember: [...r.byMember],
      outagesMs: [...r.outagesMs],
      away: r.away,
      dials: r.dials,
      failedDials: r.failedDials,
      moveOns: r.moveOns,
      failReasons: Object.fromEntries(r.failReasons),
      lastWelcomeMs: r.lastWelcomeMs,
      watchdogDrops: r.watchdogDrops,
      stalledMs: r.stalledMs,
      stallMaxMs: r.stallMaxMs,
    };
  }

  /** Starts counting reconnects afresh (before a storm). */
  resetReconnects(): void {
    const r = this.rec;
    r.outagesMs = [];
    r.failReasons = new Map();
    r.dials = r.failedDials = r.moveOns = r.lastWelcomeMs = r.watchdogDrops = r.stalledMs = r.stallMaxMs = 0;
  }

  /** Starts a measurement window: counters reset, CPU and event-loop delay baselines taken. */
  startWindow(): void {
    const r = this.rec;
    r.sent = r.acked = r.skipped = r.strayAcks = r.errors = r.disconnects = r.outstanding = 0;
    r.latenciesMs = [];
    r.latencyMembers = [];
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
      latencyMembers: r.latencyMembers,
      byMember: [...r.byMember],
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
    clearInterval(this.stallTicker);
    for (const c of this.joinClients.values()) c.close();
    this.joinClients.clear();
    for (const a of this.agents) a.close();
  }
}
