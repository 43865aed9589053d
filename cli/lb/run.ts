/**
 * `berth lb haproxy|nginx`: the long-running process. Validates its flags, then
 * follows the endpoints and keeps the load balancer in step until SIGINT/SIGTERM.
 * Loaded only when an lb command runs (cli/lb/command.ts imports it in the action).
 */
import { hostname } from "node:os";
import type { LevelWithSilent } from "pino";
import type { Endpoints__Output } from "../../shared/gen/berth/v1/Endpoints.js";
import { createLogger, isLogLevel } from "../../shared/log/logger.js";
import { MetricsListenError, parseMetricsAddr, serveMetrics, type MetricsServer } from "../../shared/metrics/server.js";
import { parseDurationMs } from "../../shared/duration.js";
import { parseHostPort } from "../../shared/addr.js";
import { resolveClientConfig } from "../config.js";
import { CliError, EXIT } from "../errors.js";
import { untilSignal } from "../signals.js";
import { desiredServers } from "./servers.js";
import type { Driver } from "./driver.js";
import { EndpointsFollower } from "./follow.js";
import { HaproxyDriver, type HaproxyOptions } from "./haproxy.js";
import { LbMetrics } from "./metrics.js";
import { DEFAULT_WAIT, NginxDriver, type NginxOptions } from "./nginx.js";

export interface CommonLbFlags {
  service: string;
  name?: string;
  port?: string;
  serverOptions?: string;
  metricsAddr: string;
  logLevel: string;
  addr?: string;
}

export interface HaproxyFlags extends CommonLbFlags {
  backend: string;
  socket: string;
  config?: string;
}

export interface NginxFlags extends CommonLbFlags {
  upstreamFile: string;
  upstream?: string;
  nginxConfig?: string;
  nginxBin: string;
  reloadCmd?: string;
  wait: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Every problem of the common flags, each naming its flag. */
export function checkCommon(f: CommonLbFlags): string[] {
  const out: string[] = [];
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(f.service)) out.push(`--service ${f.service}: not a service name`);
  if (f.name !== undefined && !NAME.test(f.name)) out.push(`--name ${f.name}: 1-64 of A-Z a-z 0-9 . _ -`);
  if (f.port !== undefined && !(/^\d+$/.test(f.port) && Number(f.port) >= 1 && Number(f.port) <= 65535)) out.push(`--port ${f.port}: expected 1-65535`);
  if (f.serverOptions !== undefined && /[;\n{}#]/.test(f.serverOptions)) out.push(`--server-options: may not hold ; { } # or a newline`);
  if (!isLogLevel(f.logLevel)) out.push(`--log-level ${f.logLevel}: expected trace, debug, info, warn, error or silent`);
  try {
    parseMetricsAddr(f.metricsAddr);
  } catch (e) {
    out.push(`--metrics-addr: ${(e as Error).message}`);
  }
  return out;
}

/** "500ms:2s" → quiet 500 ms, at most 2 s; "1s" → quiet 1 s, at most 4 s (consul-template's rule). */
export function parseWait(s: string): { quietMs: number; maxMs: number } {
  const [a, b, ...rest] = s.split(":");
  if (a === undefined || rest.length) throw new Error(`--wait ${s}: expected MIN or MIN:MAX, e.g. 500ms:2s`);
  const duration = (t: string): number => {
    try {
      return parseDurationMs(t);
    } catch (e) {
      throw new Error(`--wait ${s}: ${(e as Error).message}`);
    }
  };
  const quietMs = duration(a);
  const maxMs = b === undefined ? 4 * quietMs : duration(b);
  if (maxMs < quietMs) throw new Error(`--wait ${s}: MAX is shorter than MIN`);
  if (maxMs > 60_000) throw new Error(`--wait ${s}: MAX is longer than 1m`);
  return { quietMs, maxMs };
}

function fail(problems: string[]): void {
  if (problems.length) throw new CliError(problems.join("; "), EXIT.usage);
}

/** The HAProxy driver's options from the flags; a CliError naming every bad flag. Also what `lb install` checks. */
export function haproxyOptions(f: HaproxyFlags): HaproxyOptions {
  const problems = checkCommon(f);
  if (!/^[A-Za-z0-9_.:-]+$/.test(f.backend)) problems.push(`--backend ${f.backend}: not an HAProxy backend name`);
  if (!f.socket) problems.push("--socket: give HAProxy's admin socket (stats socket … level admin)");
  fail(problems);
  return { service: f.service, backend: f.backend, socket: f.socket, config: f.config, serverOptions: f.serverOptions };
}

/** The nginx driver's options from the flags; a CliError naming every bad flag. Also what `lb install` checks. */
export function nginxOptions(f: NginxFlags): NginxOptions {
  const problems = checkCommon(f);
  const upstream = f.upstream ?? f.service.replace(/-/g, "_");
  if (!/^[A-Za-z0-9_]+$/.test(upstream)) problems.push(`--upstream ${upstream}: A-Z a-z 0-9 _ only`);
  let wait = DEFAULT_WAIT;
  try {
    wait = parseWait(f.wait);
  } catch (e) {
    problems.push((e as Error).message);
  }
  fail(problems);
  return { service: f.service, upstream, upstreamFile: f.upstreamFile, nginx: f.nginxBin, nginxConfig: f.nginxConfig, reloadCmd: f.reloadCmd, serverOptions: f.serverOptions, wait };
}

export async function runHaproxy(f: HaproxyFlags): Promise<void> {
  const o = haproxyOptions(f);
  await runLb(f, "haproxy", (deps) => new HaproxyDriver(deps, o));
}

export async function runNginx(f: NginxFlags): Promise<void> {
  const o = nginxOptions(f);
  await runLb(f, "nginx", (deps) => new NginxDriver(deps, o));
}

async function runLb(f: CommonLbFlags, kind: "haproxy" | "nginx", make: (deps: ConstructorParameters<typeof HaproxyDriver>[0]) => Driver): Promise<void> {
  const cfg = await resolveClientConfig({ addr: f.addr });
  const addrs = cfg.addr.split(",").map((a) => a.trim()).filter(Boolean);
  // Every address now: a bad one found only when the watch rotates to it would end the process.
  for (const a of addrs) {
    try {
      parseHostPort(a);
    } catch (e) {
      throw new CliError(`controller address ${a}: ${(e as Error).message}`, EXIT.usage, "give --addr / BERTH_ADDR as HOST:PORT[,HOST:PORT…]");
    }
  }
  const lbName = f.name ?? hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 64);
  const port = f.port === undefined ? undefined : Number(f.port);
  let metricsAt;
  try {
    metricsAt = parseMetricsAddr(f.metricsAddr);
  } catch (e) {
    throw new CliError(`--metrics-addr: ${(e as Error).message}`, EXIT.usage);
  }
  const log = createLogger(`lb-${kind}`, f.logLevel as LevelWithSilent).child({ service: f.service, lb: lbName });
  const metrics = new LbMetrics();
  let server: MetricsServer | undefined;
  if (metricsAt) {
    server = await serveMetrics(metrics.registry, metricsAt).catch((e: unknown) => {
      if (e instanceof MetricsListenError) throw new CliError(e.message, EXIT.usage, "give another --metrics-addr HOST:PORT, or --metrics-addr off");
      throw e;
    });
  }
  // eslint-disable-next-line prefer-const -- the follower and the driver refer to each other
  let follower: EndpointsFollower | undefined;
  const driver = make({ log, metrics, now: Date.now, report: (r) => follower?.report(r) });
  let skippedShown = "";
  follower = new EndpointsFollower({
    addrs,
    token: cfg.token,
    ca: cfg.ca,
    service: f.service,
    lb: lbName,
    kind,
    log,
    metrics,
    onList: (e: Endpoints__Output) => {
      const d = desiredServers(e.endpoints, port);
      const skipped = d.skipped.join("; ");
      if (skipped && skipped !== skippedShown) log.warn({ skipped }, "endpoints that cannot be servers");
      skippedShown = skipped;
      driver.set({ version: e.version, servers: d.servers, drainTimeMs: Number(e.drain_time_ms) });
    },
  });
  log.info({ controllers: addrs, metrics: f.metricsAddr }, `berth lb ${kind} starting`);
  follower.start();
  const signal = await untilSignal();
  // Stopping leaves the load balancer as it is: it keeps serving the last list.
  log.info({ signal }, "stopping; the load balancer keeps its servers");
  follower.close();
  await driver.close();
  await server?.close();
}
