/**
 * The agent's Prometheus metrics. Gauges read the converger and the session at
 * scrape time (collect()); what only exists as an event — a heartbeat ack, an
 * install, a reconnect — is counted where it happens (agent.ts wires them).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { newRegistry } from "../shared/metrics/server.js";
import type { InstanceState } from "./converge/converger.js";

export const AGENT_INSTANCE_STATES: readonly InstanceState[] = ["pending", "fetching", "installing", "starting", "healthy", "unhealthy", "stopping", "stopped", "failed"];

export interface AgentInstanceSnapshot {
  service: string;
  instance: string;
  state: InstanceState;
  restarts: number;
}

export interface AgentMetricsSources {
  /** The instance this host holds now; undefined: it is a spare. */
  instance: () => AgentInstanceSnapshot | undefined;
  /** A stream to the controller is open and welcomed. */
  connected: () => boolean;
}

export type InstallOutcome = "installed" | "skipped" | "failed";

/** One series per state, the current one 1 (the enum pattern: alerts match state="failed"). */
export function stateSeries(i: AgentInstanceSnapshot | undefined): { labels: { service: string; instance: string; state: InstanceState }; value: number }[] {
  if (!i) return [];
  return AGENT_INSTANCE_STATES.map((state) => ({ labels: { service: i.service, instance: i.instance, state }, value: state === i.state ? 1 : 0 }));
}

export class AgentMetrics {
  readonly registry: Registry;
  private readonly rtt: Histogram<string>;
  private readonly installs: Histogram<"outcome">;
  private readonly reconnects: Counter<string>;
  private connects = 0;

  constructor(src: AgentMetricsSources) {
    const registry = newRegistry("agent");
    this.registry = registry;
    const registers = [registry];

    new Gauge({
      name: "berth_agent_connected",
      help: "1 while the stream to the controller is open and welcomed.",
      registers,
      collect() {
        this.set(src.connected() ? 1 : 0);
      },
    });
    new Gauge({
      name: "berth_agent_instance_state",
      help: "The state of the instance this host runs: 1 for the current state, 0 for the others; no series on a spare.",
      labelNames: ["service", "instance", "state"],
      registers,
      collect() {
        this.reset();
        for (const s of stateSeries(src.instance())) this.set(s.labels, s.value);
      },
    });
    new Counter({
      name: "berth_agent_instance_restarts_total",
      help: "Restarts of the instance's process by the supervisor (starts again from 0 for a new copy, like any counter after a reset).",
      labelNames: ["service", "instance"],
      registers,
      collect() {
        this.reset();
        const i = src.instance();
        if (i) this.inc({ service: i.service, instance: i.instance }, i.restarts);
      },
    });
    this.rtt = new Histogram({
      name: "berth_agent_heartbeat_rtt_seconds",
      help: "Heartbeat round trip as the agent sees it: sent to acknowledged, on the agent's clock.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.installs = new Histogram({
      name: "berth_agent_install_duration_seconds",
      help: "Installs (apt packages and install steps), by outcome: installed, skipped (already installed for this artifact and spec), failed.",
      labelNames: ["outcome"],
      buckets: [0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.reconnects = new Counter({
      name: "berth_agent_stream_reconnects_total",
      help: "Streams to the controller opened again after the first one of this process (controller restarts, lost links).",
      registers,
    });
  }

  heartbeatAck(rttMs: number): void {
    this.rtt.observe(Math.max(0, rttMs) / 1000);
  }

  installed(o: { outcome: InstallOutcome; seconds: number }): void {
    this.installs.observe({ outcome: o.outcome }, o.seconds);
  }

  /** A stream was welcomed. */
  connected(): void {
    if (this.connects++ > 0) this.reconnects.inc();
  }
}
