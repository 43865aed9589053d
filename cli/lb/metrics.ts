/** `berth lb`'s metrics: what it applied, when, and what failed (README, "Load balancers"). */
import { Counter, Gauge, type Registry } from "prom-client";
import { newRegistry } from "../../shared/metrics/server.js";

/** What failed, as the `what` label of berth_lb_errors_total. */
export type LbErrorKind = "watch" | "socket" | "command" | "config" | "check" | "reload" | "report";

export class LbMetrics {
  readonly registry: Registry = newRegistry("lb");
  readonly applied = new Counter({ name: "berth_lb_changes_applied_total", help: "Changes of the server list the load balancer took.", registers: [this.registry] });
  readonly lastApply = new Gauge({ name: "berth_lb_last_apply_timestamp_seconds", help: "When the load balancer last took a change (unix seconds).", registers: [this.registry] });
  readonly errors = new Counter({ name: "berth_lb_errors_total", help: "Failures, by what failed; the load balancer keeps its last good state.", labelNames: ["what"], registers: [this.registry] });
  readonly servers = new Gauge({ name: "berth_lb_servers", help: "Servers in rotation after the last apply.", registers: [this.registry] });
  readonly reloads = new Counter({ name: "berth_lb_reloads_total", help: "nginx reloads (HAProxy is never reloaded).", registers: [this.registry] });
  readonly connected = new Gauge({ name: "berth_lb_watch_connected", help: "1 while the endpoints watch is open.", registers: [this.registry] });

  constructor() {
    for (const what of ["watch", "socket", "command", "config", "check", "reload", "report"] satisfies LbErrorKind[]) this.errors.inc({ what }, 0);
  }

  error(what: LbErrorKind): void {
    this.errors.inc({ what });
  }

  tookChange(servers: number, nowMs: number): void {
    this.applied.inc();
    this.lastApply.set(nowMs / 1000);
    this.servers.set(servers);
  }
}
