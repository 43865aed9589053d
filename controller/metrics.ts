/**
 * The controller's Prometheus metrics. Gauges are computed from the real state
 * at scrape time (collect()), never kept in sync by hand: a scrape reads the
 * host registry, the service records and what agents report, exactly as
 * `berth hosts` and `berth status` do. Counters and histograms are fed where
 * the events happen: heartbeats (api/agent-service.ts), committed reconcile
 * events (reconcile/loop.ts), and every gRPC call (a server interceptor).
 */
import * as grpc from "@grpc/grpc-js";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { WAIT_KINDS, type WaitKind } from "./reconcile/waits.js";
import { newRegistry } from "../shared/metrics/server.js";
import type { HostStatus } from "./hosts/host.js";
import { EFFECTIVE_STATES, type EffectiveState } from "./services/effective-state.js";

export const HOST_STATUSES: readonly HostStatus[] = ["joining", "ready", "cordoned", "draining", "down"];

/** What the gauges read at scrape time. Each is called once per scrape. */
export interface ControllerMetricsSources {
  hosts: () => readonly { status: HostStatus; connected: boolean }[];
  instances: () => readonly { service: string; state: EffectiveState }[];
  /** Every service with its desired instance count (a service with no instance yet still counts). */
  services: () => readonly { name: string; instances: number }[];
  /** Instances that wait (reconcile/waits.ts), each with its kind: the leader's word, on every member. @default () => [] */
  waiting?: () => readonly { service: string; kind: WaitKind }[];
  failoverPaused?: () => boolean;
  /** Rollout records that have not ended (neither succeeded nor failed). @default () => 0 */
  rolloutsInProgress?: () => number;
  /**
   * Every certificate the controller watches, with its notAfter (unix ms): each
   * host's (kind "host", name its id), the controller's serving certificate and the CA.
   * @default () => []
   */
  certificates?: () => readonly { kind: "host" | "server" | "ca"; name: string; notAfterMs: number }[];
  /** Whether this member reaches its store (etcd with its quorum). @default () => true */
  storeAvailable?: () => boolean;
  /** Whether this member leads (runs the decision loops). @default () => true */
  leader?: () => boolean;
  /** On etcd: what this member's client saw of each endpoint (store/endpoint-policy.ts). @default () => [] */
  etcdEndpoints?: () => readonly { endpoint: string; unreachable: number; silent: number; leftOut: number }[];
}

export interface ControllerMetricsOptions {
  /** Sizes the heartbeat gap buckets around the configured cadence. @default 1000 */
  heartbeatIntervalMs?: number;
}

/** Hosts per status, every status present (0 when none) so alerts never see a gap. */
export function countHosts(hosts: readonly { status: HostStatus }[]): Map<HostStatus, number> {
  const m = new Map<HostStatus, number>(HOST_STATUSES.map((s) => [s, 0]));
  for (const h of hosts) m.set(h.status, (m.get(h.status) ?? 0) + 1);
  return m;
}

/** service → state → count; every known service gets every state (0 when none). */
export function countInstances(
  services: readonly { name: string }[],
  instances: readonly { service: string; state: EffectiveState }[],
): Map<string, Map<EffectiveState, number>> {
  const out = new Map<string, Map<EffectiveState, number>>();
  const row = (svc: string): Map<EffectiveState, number> => {
    let r = out.get(svc);
    if (!r) {
      r = new Map(EFFECTIVE_STATES.map((s) => [s, 0]));
      out.set(svc, r);
    }
    return r;
  };
  for (const s of services) row(s.name);
  for (const i of instances) {
    const r = row(i.service);
    r.set(i.state, (r.get(i.state) ?? 0) + 1);
  }
  return out;
}

/** "/berth.v1.OperatorService/ListHosts" → service and method. */
export function splitGrpcPath(path: string): { service: string; method: string } {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return m ? { service: m[1]!, method: m[2]! } : { service: "unknown", method: path || "unknown" };
}

export function grpcType(d: { requestStream: boolean; responseStream: boolean }): "unary" | "client_stream" | "server_stream" | "bidi_stream" {
  if (d.requestStream) return d.responseStream ? "bidi_stream" : "client_stream";
  return d.responseStream ? "server_stream" : "unary";
}

export function grpcCodeName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** Failovers are the replacements of lost instances (DESIGN.md, "Host lifecycle"). */
export const FAILOVER_EVENT = "instance.lost";

export class ControllerMetrics {
  readonly registry: Registry;
  private readonly heartbeatLatency: Histogram<string>;
  private readonly heartbeatGap: Histogram<string>;
  private readonly reconcileEvents: Counter<"type">;
  private readonly failovers: Counter<string>;
  private readonly grpcStarted: Counter<"grpc_service" | "grpc_method" | "grpc_type">;
  private readonly grpcHandled: Counter<"grpc_service" | "grpc_method" | "grpc_type" | "grpc_code">;
  private readonly grpcSeconds: Histogram<"grpc_service" | "grpc_method" | "grpc_type">;

  constructor(src: ControllerMetricsSources, o: ControllerMetricsOptions = {}) {
    const registry = newRegistry("controller");
    this.registry = registry;
    const registers = [registry];
    const intervalS = (o.heartbeatIntervalMs ?? 1000) / 1000;

    new Gauge({
      name: "berth_hosts",
      help: "Hosts by status, as `berth hosts` shows it (down wins over draining, draining over cordoned, cordoned over ready).",
      labelNames: ["status"],
      registers,
      collect() {
        this.reset();
        for (const [status, n] of countHosts(src.hosts())) this.set({ status }, n);
      },
    });
    new Gauge({
      name: "berth_hosts_connected",
      help: "Hosts with an open agent stream.",
      registers,
      collect() {
        this.set(src.hosts().filter((h) => h.connected).length);
      },
    });
    new Gauge({
      name: "berth_instances",
      help: "Instances by service and state, as `berth status` shows them (lost: its host is down).",
      labelNames: ["service", "state"],
      registers,
      collect() {
        // Recomputed whole: a deleted service's series disappear with it.
        this.reset();
        for (const [service, states] of countInstances(src.services(), src.instances())) {
          for (const [state, n] of states) this.set({ service, state }, n);
        }
      },
    });
    new Gauge({
      name: "berth_instances_waiting",
      help: "Instances that wait, by service and why: unplaced (no host can take it), backoff (it failed; its reschedule waits), held (kept where it is: failover disabled or paused, a lost copy not yet fenced, or no host to move it to).",
      labelNames: ["service", "kind"],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, Map<WaitKind, number>>();
        const row = (svc: string): Map<WaitKind, number> => {
          let r = counts.get(svc);
          if (!r) counts.set(svc, (r = new Map(WAIT_KINDS.map((k) => [k, 0]))));
          return r;
        };
        for (const s of src.services()) row(s.name);
        for (const w of src.waiting?.() ?? []) row(w.service).set(w.kind, (row(w.service).get(w.kind) ?? 0) + 1);
        for (const [service, kinds] of counts) for (const [kind, n] of kinds) this.set({ service, kind }, n);
      },
    });
    new Gauge({
      name: "berth_instances_desired",
      help: "Instances each service's spec asks for.",
      labelNames: ["service"],
      registers,
      collect() {
        this.reset();
        for (const s of src.services()) this.set({ service: s.name }, s.instances);
      },
    });
    new Gauge({
      name: "berth_failover_paused",
      help: "1 while the mass-failure guard holds failover back (berth failover resume).",
      registers,
      collect() {
        this.set(src.failoverPaused?.() ? 1 : 0);
      },
    });
    new Gauge({
      name: "berth_rollouts_in_progress",
      help: "Rolling updates in progress.",
      registers,
      collect() {
        this.set(src.rolloutsInProgress?.() ?? 0);
      },
    });

    new Gauge({
      name: "berth_store_available",
      help: "1 while this member reaches its store (etcd with its quorum); 0 while it cannot: it decides nothing and sends its agents to other members, whose services keep running.",
      registers,
      collect() {
        this.set(src.storeAvailable?.() ?? true ? 1 : 0);
      },
    });
    new Gauge({
      name: "berth_leader",
      help: "1 on the member that leads its controller group (runs reconcile, failure detection, rollouts); 0 on the others. No member at 1: nothing is decided.",
      registers,
      collect() {
        this.set(src.leader?.() ?? true ? 1 : 0);
      },
    });

    new Counter({
      name: "berth_etcd_attempts_failed_total",
      help: "Attempts of this member's etcd client that waited out their deadline on an etcd endpoint: reason=unreachable (refused, never connected) or silent (no answer on a working connection while another endpoint answered). Each leaves the endpoint out of the client's calls for a while.",
      labelNames: ["endpoint", "reason"],
      registers,
      collect() {
        this.reset();
        for (const e of src.etcdEndpoints?.() ?? []) {
          this.inc({ endpoint: e.endpoint, reason: "unreachable" }, e.unreachable);
          this.inc({ endpoint: e.endpoint, reason: "silent" }, e.silent);
        }
      },
    });
    new Counter({
      name: "berth_etcd_endpoint_left_out_total",
      help: "Times this member's etcd client left an endpoint out of its calls (500 ms, doubling to 4 s while it stays so) after an attempt found it unreachable or silent.",
      labelNames: ["endpoint"],
      registers,
      collect() {
        this.reset();
        for (const e of src.etcdEndpoints?.() ?? []) this.inc({ endpoint: e.endpoint }, e.leftOut);
      },
    });

    new Gauge({
      name: "berth_certificate_expiry_timestamp_seconds",
      help: "When each certificate expires (unix seconds): every host's (kind=host, name=its id), the controller's serving certificate (kind=server) and its CA (kind=ca). Alert on (this - time()) < 7 * 86400.",
      labelNames: ["kind", "name"],
      registers,
      collect() {
        this.reset();
        for (const c of src.certificates?.() ?? []) this.set({ kind: c.kind, name: c.name }, Math.floor(c.notAfterMs / 1000));
      },
    });

    this.heartbeatLatency = new Histogram({
      name: "berth_heartbeat_latency_seconds",
      help: "Agent send to controller receipt of each heartbeat, by the two hosts' clocks (so it includes their offset; negative values count as 0).",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.heartbeatGap = new Histogram({
      name: "berth_heartbeat_gap_seconds",
      help: "Time between two heartbeats of one host: the margin the failure detector sees against the TTL.",
      // Around the cadence the controller asks for: on time, late, very late.
      buckets: [0.5, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10].map((f) => Number((f * intervalS).toFixed(4))),
      registers,
    });
    this.reconcileEvents = new Counter({
      name: "berth_reconcile_events_total",
      help: "Changes the reconcile loop committed, by event type (instance.placed, instance.lost, instance.moved …).",
      labelNames: ["type"],
      registers,
    });
    this.failovers = new Counter({
      name: "berth_failovers_total",
      help: "Instances lost with their host and replaced on a spare.",
      registers,
    });
    const grpcLabels = ["grpc_service", "grpc_method", "grpc_type"] as const;
    this.grpcStarted = new Counter({ name: "berth_grpc_server_started_total", help: "gRPC calls started, agents' and operators'.", labelNames: grpcLabels, registers });
    this.grpcHandled = new Counter({
      name: "berth_grpc_server_handled_total",
      help: "gRPC calls finished, by status code (a stream counts when it ends).",
      labelNames: [...grpcLabels, "grpc_code"],
      registers,
    });
    this.grpcSeconds = new Histogram({
      name: "berth_grpc_server_handling_seconds",
      help: "Time to answer unary gRPC calls (streams live for hours and are left out).",
      labelNames: grpcLabels,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
  }

  /** A heartbeat arrived: `sentAtMs` on the agent's clock, the others on the controller's. */
  heartbeat(h: { sentAtMs: number; receivedAtMs: number; previousMs: number | undefined }): void {
    // Across two clocks: one agent's clock far off must not swamp the fleet's _sum. A
    // heartbeat older than a minute in flight is a clock, not a network.
    const latencyMs = h.receivedAtMs - h.sentAtMs;
    if (h.sentAtMs > 0 && latencyMs >= -1000 && latencyMs <= 60_000) this.heartbeatLatency.observe(Math.max(0, latencyMs) / 1000);
    if (h.previousMs !== undefined) this.heartbeatGap.observe(Math.max(0, h.receivedAtMs - h.previousMs) / 1000);
  }

  /** Events of a committed reconcile pass. */
  reconciled(events: readonly { type: string }[]): void {
    for (const e of events) {
      this.reconcileEvents.inc({ type: e.type });
      if (e.type === FAILOVER_EVENT) this.failovers.inc();
    }
  }

  /** Counts and times every call of the server it is installed in, with its real final status. */
  readonly grpcInterceptor: grpc.ServerInterceptor = (method, call) => {
    const { service, method: name } = splitGrpcPath(method.path);
    const type = grpcType(method);
    const labels = { grpc_service: service, grpc_method: name, grpc_type: type };
    this.grpcStarted.inc(labels);
    const startedAt = process.hrtime.bigint();
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      this.grpcHandled.inc({ ...labels, grpc_code: grpcCodeName(code) });
      if (type === "unary") this.grpcSeconds.observe(labels, Number(process.hrtime.bigint() - startedAt) / 1e9);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => finish(grpc.status.CANCELLED) }),
      sendStatus: (status, next) => {
        finish(status.code ?? grpc.status.UNKNOWN);
        next(status);
      },
    });
  };
}
