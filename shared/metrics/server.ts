/**
 * The /metrics endpoint both daemons serve: a plain HTTP listener of its own,
 * apart from the gRPC port (Prometheus scrapes HTTP, and the gRPC port speaks
 * only mutual TLS). Each process has its own prom-client Registry — never the
 * global one — so tests can run a controller and agents in one process.
 */
import { createServer, type Server } from "node:http";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { formatHostPort, parseHostPort, type HostPort } from "../addr.js";
import { VERSION } from "../version.js";
import { allocatorInUse } from "../malloc.js";

/** `--metrics-addr ""` or `--metrics-addr off` turns the endpoint off. */
export function parseMetricsAddr(s: string): HostPort | null {
  const v = s.trim();
  if (v === "" || v === "off") return null;
  // A port is required: 7420 (parseHostPort's default) is the gRPC port, never this one.
  if (!/:\d+$/.test(v)) throw new Error(`invalid address "${s}": give HOST:PORT, e.g. 127.0.0.1:9464, or "off"`);
  return parseHostPort(v);
}

/**
 * A registry with the process's default metrics (CPU, memory, event loop, GC,
 * handles; names as every Node.js dashboard expects) and `berth_build_info`.
 */
export function newRegistry(component: "controller" | "agent" | "lb"): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: "berth_build_info",
    help: "Always 1; the labels say which berth this process is.",
    labelNames: ["version", "component", "node_version", "malloc"],
    registers: [registry],
  }).set({ version: VERSION, component, node_version: process.version, malloc: allocatorInUse() }, 1);
  return registry;
}

export interface MetricsServer {
  /** The address bound (port 0 → the chosen port). */
  address: HostPort;
  close(): Promise<void>;
}

export class MetricsListenError extends Error {
  constructor(
    readonly addr: string,
    cause: Error & { code?: string },
  ) {
    super(cause.code === "EADDRINUSE" ? `metrics address ${addr} is in use` : `cannot serve metrics on ${addr}: ${cause.message}`, { cause });
    this.name = "MetricsListenError";
  }
}

/** Scrapes within this long of each other share one collection. */
export const CACHE_MS = 1000;

/** Serves GET /metrics (text exposition format 0.0.4) and nothing else. */
export async function serveMetrics(registry: Registry, at: HostPort): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: berth serves /metrics only\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    collect().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  // Collecting walks every host and instance on the event loop that also answers
  // heartbeats: one collection at a time, and its text serves every scrape for
  // CACHE_MS — a client looping on GET costs no more than one scraper.
  let cached: { at: number; text: Promise<string> } | undefined;
  const collect = (): Promise<string> => {
    const now = Date.now();
    if (!cached || now - cached.at >= CACHE_MS) {
      const text = registry.metrics();
      cached = { at: now, text };
      text.catch(() => (cached = undefined));
    }
    return cached.text;
  };
  // A scrape is one short request: don't let idle keep-alive sockets delay close(),
  // nor slow or idle clients hold sockets.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.maxConnections = 64;
  return listenHttp(server, at, (e) => new MetricsListenError(formatHostPort(at), e));
}

/**
 * Binds a plain HTTP server (metrics, webhooks): a bind failure rejects with the caller's
 * error; after the bind, a socket error is the client's, never the process's end.
 * Resolves with the port bound (port 0 → the one chosen).
 */
export async function listenHttp(server: Server, at: HostPort, bindError: (e: Error & { code?: string }) => Error): Promise<{ address: HostPort; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error & { code?: string }): void => reject(bindError(e));
    server.once("error", onError);
    server.listen(at.port, at.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", () => undefined);
  server.on("clientError", (_err, socket) => socket.destroy());
  const bound = server.address();
  return {
    address: { host: at.host, port: bound && typeof bound === "object" ? bound.port : at.port },
    // Closes idle keep-alive sockets too, so close() does not wait for clients.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
