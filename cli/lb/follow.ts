/**
 * Follows a service's endpoints through any controller of a group: one watch at a
 * time, the next address on every failure, with backoff. A lost watch changes
 * nothing on the load balancer; the first list after a reconnect is the whole
 * current one, so it resumes from there. Reports what the load balancer applied
 * to the controller it watches (on every change, on every reconnect — a restarted
 * controller has forgotten — and every LB_REPORT_EVERY_MS).
 */
import type * as grpc from "@grpc/grpc-js";
import type { Endpoints__Output } from "../../shared/gen/berth/v1/Endpoints.js";
import type { Logger } from "../../shared/log/logger.js";
import { backoffDelayMs, type BackoffPolicy } from "../../shared/backoff.js";
import { connect, type Api } from "../client.js";
import type { AppliedReport } from "./driver.js";
import type { LbMetrics } from "./metrics.js";

/**
 * Between attempts to open the watch again: capped at 1 s, so the load balancer follows
 * again within about a second of its controller listening — a controller that starts
 * leading holds drains back FOLLOWER_GRACE_MS (rollout/next-step.ts) for this. One
 * connection attempt each.
 */
export const FOLLOW_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0.5 };

/** The controller forgets an lb not heard of for 10 min: re-report well within. @default 60 s */
export const LB_REPORT_EVERY_MS = 60_000;

export interface FollowOptions {
  addrs: string[];
  token: string;
  ca: string;
  service: string;
  lb: string;
  kind: "haproxy" | "nginx";
  log: Logger;
  metrics: LbMetrics;
  onList: (e: Endpoints__Output) => void;
}

export class EndpointsFollower {
  private api: Api | undefined;
  private stream: grpc.ClientReadableStream<Endpoints__Output> | undefined;
  private next = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly every: NodeJS.Timeout;
  private closed = false;
  private last: AppliedReport | undefined;

  constructor(private readonly o: FollowOptions) {
    this.every = setInterval(() => this.sendReport(), LB_REPORT_EVERY_MS);
  }

  start(): void {
    if (this.closed) return;
    const addr = this.o.addrs[this.next % this.o.addrs.length]!;
    this.next++;
    const api = connect({ addr, token: this.o.token, ca: this.o.ca });
    this.api = api;
    const stream = api.client.WatchEndpoints({ name: this.o.service }, api.metadata);
    this.stream = stream;
    let first = true;
    stream.on("data", (e: Endpoints__Output) => {
      if (first) {
        first = false;
        this.failures = 0;
        this.o.metrics.connected.set(1);
        this.o.log.info({ controller: addr, service: this.o.service, endpoints: e.endpoints.length }, "following the endpoints");
        // This controller may not know us (it restarted, or it is another one).
        this.sendReport();
      }
      this.o.onList(e);
    });
    const lost = (why: string): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.o.metrics.connected.set(0);
      api.close();
      if (this.closed) return;
      this.o.metrics.error("watch");
      const delay = backoffDelayMs(FOLLOW_BACKOFF, this.failures++);
      this.o.log.warn({ controller: addr, service: this.o.service, err: why, retryInMs: Math.round(delay) }, "the endpoints watch is lost; the load balancer stays as it is");
      this.timer = setTimeout(() => this.start(), delay);
    };
    stream.on("error", (err: Error & { details?: string }) => lost(err.details ?? err.message));
    stream.on("end", () => lost("the controller ended the watch"));
  }

  /** What the load balancer has now; sent at once when the watch is open. */
  report(r: AppliedReport): void {
    this.last = r;
    this.sendReport();
  }

  private sendReport(): void {
    const r = this.last;
    const api = this.api;
    if (!r || !api || !this.stream) return;
    const req = { service: this.o.service, lb: this.o.lb, kind: this.o.kind, version: r.version, applied_at_ms: r.appliedAtMs, servers: r.servers, error: r.error.slice(0, 1024) };
    api.client.ReportLbApplied(req, api.metadata, { deadline: Date.now() + 10_000 }, (err) => {
      if (!err) return;
      this.o.metrics.error("report");
      this.o.log.warn({ err: err.details || err.message }, "reporting what the load balancer applied failed");
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.every);
    this.stream?.cancel();
    this.api?.close();
  }
}
