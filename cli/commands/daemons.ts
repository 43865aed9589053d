/** `berth controller` and `berth agent`: the two long-running processes. */
import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { LineCounter, parseDocument, isMap, isScalar } from "yaml";
import { parseHostPort, formatHostPort, DEFAULT_PORT } from "../../shared/addr.js";
import { parseMemberList } from "../../shared/members.js";
import { FLAG_LIMITS, parseDurationFlag } from "../duration-flag.js";
import { createLogger, isLogLevel } from "../../shared/log/logger.js";
import { parseLabels, LabelError, labelProblems } from "../../shared/labels.js";
import { ListenError, startController } from "../../controller/server.js";
import { startAgent } from "../../agent/agent.js";
import { JoinError } from "../../agent/session/session.js";
import { guardProcess } from "../../agent/crash.js";
import { CliError, EXIT } from "../errors.js";
import { writeConfigFile } from "../config.js";
import { registerAgentInstall } from "./agent-install.js";
import type { LevelWithSilent } from "pino";
import { MetricsListenError, parseMetricsAddr } from "../../shared/metrics/server.js";

/** Where /metrics is served unless --metrics-addr says otherwise (README, "Metrics"). */
export const DEFAULT_CONTROLLER_METRICS = "127.0.0.1:9464";
export const DEFAULT_AGENT_METRICS = "127.0.0.1:9465";

function metricsAddr(s: string): ReturnType<typeof parseMetricsAddr> {
  try {
    return parseMetricsAddr(s);
  } catch (e) {
    throw new CliError(`--metrics-addr: ${(e as Error).message}`, EXIT.usage);
  }
}

/** A taken metrics port is the operator's to fix, not a crash. */
function metricsFailure(e: unknown): never {
  if (e instanceof MetricsListenError) throw new CliError(e.message, EXIT.usage, "give another --metrics-addr HOST:PORT, or --metrics-addr off");
  throw e;
}

/** So is a taken --listen port: say so and exit, never linger without one. */
function listenFailure(e: unknown): never {
  if (e instanceof ListenError) throw new CliError(`--listen: ${e.message}`, EXIT.usage, "stop the other controller, or give another --listen HOST:PORT");
  metricsFailure(e);
}

function level(s: string): LevelWithSilent {
  if (!isLogLevel(s)) throw new CliError(`--log-level ${s}: expected trace, debug, info, warn, error, fatal or silent`, EXIT.usage);
  return s;
}

function addr(flag: string, s: string): ReturnType<typeof parseHostPort> {
  try {
    return parseHostPort(s);
  } catch (e) {
    throw new CliError(`${flag}: ${(e as Error).message}`, EXIT.usage);
  }
}

/** Resolves on SIGINT/SIGTERM: daemons run until told to stop, then shut down cleanly. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((res) => {
    process.once("SIGINT", () => res("SIGINT"));
    process.once("SIGTERM", () => res("SIGTERM"));
  });
}

/**
 * The controller's members from a flag or a file: "a:7420,b:7420" (or a YAML
 * list), each HOST:PORT; a bad, empty or repeated entry is a usage error naming
 * where it came from.
 */
export function memberList(where: string, input: string | readonly string[]): string[] {
  try {
    return parseMemberList(input);
  } catch (e) {
    throw new CliError(`${where}: ${(e as Error).message}`, EXIT.usage);
  }
}

/** /etc/berth/agent.yaml, as `berth agent install` writes it. */
export interface AgentFileConfig {
  /** The controller's members, parsed: `controller: a:7420,b:7420` or a list. */
  controller?: string[];
  token?: string;
  dataDir?: string;
  labels?: Record<string, string>;
  advertiseAddr?: string;
  logLevel?: string;
  metricsAddr?: string;
}

const AGENT_FILE_KEYS = new Set(["controller", "token", "dataDir", "labels", "advertiseAddr", "logLevel", "metricsAddr"]);

export async function readAgentFile(path: string): Promise<AgentFileConfig> {
  let raw: unknown;
  const lines = new LineCounter();
  let doc;
  try {
    doc = parseDocument(await readFile(path, "utf8"), { lineCounter: lines });
    if (doc.errors.length) throw doc.errors[0]!;
    raw = doc.toJS();
  } catch (e) {
    throw new CliError(`--config ${path}: ${(e as Error).message}`, EXIT.usage);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CliError(`${path}: expected a mapping`, EXIT.usage);
  // path:line: key, so each problem points into the file.
  const lineOf = (k: string): string => {
    const pair = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === k) : undefined;
    const offset = pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    return offset === undefined ? path : `${path}:${lines.linePos(offset).line}`;
  };
  const at = (k: string): string => `${lineOf(k)}: ${k}`;
  const problems: string[] = [];
  const out: AgentFileConfig = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!AGENT_FILE_KEYS.has(k)) problems.push(`${at(k)}: unknown field`);
    else if (k === "controller") {
      if (typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"))) {
        try {
          out.controller = parseMemberList(v as string | string[]);
        } catch (e) {
          problems.push(`${at(k)}: ${(e as Error).message}`);
        }
      } else problems.push(`${at(k)}: expected HOST:PORT[,HOST:PORT…] or a list of HOST:PORT`);
    } else if (k === "labels") {
      if (typeof v !== "object" || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) problems.push(`${at(k)}: expected a mapping of strings`);
      else {
        out.labels = v as Record<string, string>;
        problems.push(...labelProblems(out.labels).map((p) => `${lineOf(k)}: ${p}`));
      }
    } else if (typeof v !== "string") problems.push(`${at(k)}: expected a string`);
    else (out as Record<string, string>)[k] = v;
  }
  if (problems.length) throw new CliError(problems.join("; "), EXIT.usage);
  return out;
}

export function registerDaemons(program: Command): void {
  program
    .command("controller")
    .description("run a controller: the fleet's desired state, its store and its API")
    .option("--data-dir <dir>", "where the store, CA and admin token live", "/var/lib/berth/controller")
    .option("--listen <host:port>", "address for agents and operators", `0.0.0.0:${DEFAULT_PORT}`)
    .option("--heartbeat-interval <duration>", "how often agents report", "1s")
    .option("--ttl <duration>", "a host is down after this long without a heartbeat", "5s")
    .option("--grace <duration>", "after a start, how long a known host may take to reconnect before it is judged (default: the --ttl)")
    .option("--failover-guard <share>", "pause failover when this share of the ready hosts goes down within one TTL (1 = never)", "0.5")
    .option("--metrics-addr <host:port>", 'serve Prometheus metrics at http://HOST:PORT/metrics ("off" disables)', DEFAULT_CONTROLLER_METRICS)
    .option("--log-level <level>", "trace, debug, info, warn, error", "info")
    .option("--no-write-config", "don't write the admin client config for this user on first start")
    .addHelpText("after", "\nExample:\n  berth controller --data-dir /var/lib/berth/controller --listen 10.0.0.5:7420")
    .action(async (o: { dataDir: string; listen: string; heartbeatInterval: string; ttl: string; grace?: string; failoverGuard: string; metricsAddr: string; logLevel: string; writeConfig: boolean }) => {
      const guardShare = Number(o.failoverGuard);
      if (!(guardShare > 0 && guardShare <= 1)) throw new CliError(`--failover-guard ${o.failoverGuard}: expected a share above 0 and at most 1, e.g. 0.5`, EXIT.usage);
      const listen = addr("--listen", o.listen);
      const heartbeatIntervalMs = parseDurationFlag("--heartbeat-interval", o.heartbeatInterval, { minMs: 100, max: FLAG_LIMITS.heartbeatInterval });
      const ttlMs = parseDurationFlag("--ttl", o.ttl, { minMs: 2 * heartbeatIntervalMs, max: FLAG_LIMITS.hostTtl });
      const graceMs = o.grace === undefined ? ttlMs : parseDurationFlag("--grace", o.grace, { minMs: ttlMs, max: FLAG_LIMITS.hostTtl });
      const metrics = metricsAddr(o.metricsAddr);
      const c = await startController({ dataDir: resolve(o.dataDir), listen, heartbeatIntervalMs, ttlMs, graceMs, guardShare, metricsAddr: metrics, logLevel: level(o.logLevel) }).catch(listenFailure);
      if (c.adminToken) {
        const reach = listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host;
        const where = `${resolve(o.dataDir)}/admin.token`;
        process.stderr.write(
          `\nFirst start: created this controller's CA and its admin token (shown once; also in ${where}, mode 0600):\n\n  ${c.adminToken}\n\n`,
        );
        if (o.writeConfig) {
          const path = await writeConfigFile({ addr: formatHostPort({ host: reach, port: c.address.port }), token: c.adminToken, ca: c.caPem });
          process.stderr.write(`The berth CLI of this user is set up to use it (${path}).\n\n`);
        }
      }
      const sig = await untilSignal();
      process.stderr.write(`${sig}: stopping the controller\n`);
      await c.close();
    });

  const agent = program
    .command("agent")
    .description("run an agent: join a controller once, then report this host and run what it is assigned")
    // `agent install` has flags of the same names: the agent's own apply only before it.
    .enablePositionalOptions()
    .option("--controller <host:port,...>", "the controller, or every member of a controller group, e.g. a:7420,b:7420,c:7420 (later runs reconnect to the members joined with)")
    .option("--token <token>", "a join token (berth token create --role agent); needed only the first time")
    .option("--data-dir <dir>", "where the identity and service data live", "/var/lib/berth/agent")
    .option("--labels <k=v,...>", "labels for placement constraints, e.g. dc=dc1,rack=r7")
    .option("--advertise-addr <ip>", "the address services on this host are reached at (default: as the controller sees it)")
    .option("--config <file>", "read these settings from a YAML file (berth agent install writes /etc/berth/agent.yaml)")
    .option("--metrics-addr <host:port>", 'serve Prometheus metrics at http://HOST:PORT/metrics ("off" disables)', DEFAULT_AGENT_METRICS)
    .option("--log-level <level>", "trace, debug, info, warn, error", "info")
    .option("--stop-services-on-exit", "stop the service when the agent stops (default: it keeps running and is re-adopted)")
    .addHelpText("after", "\nExample:\n  berth agent --controller 10.0.0.5:7420 --token bj1.… --data-dir /var/lib/berth/agent --labels dc=dc1\n  berth agent --controller 10.0.0.5:7420,10.0.0.6:7420,10.0.0.7:7420 --token bj1.…    # a controller group")
    .action(async (o: { controller?: string; token?: string; dataDir: string; labels?: string; advertiseAddr?: string; config?: string; logLevel: string; metricsAddr: string; stopServicesOnExit?: boolean }, cmd: Command) => {
      const file = o.config ? await readAgentFile(o.config) : {};
      // Flags given on the command line win over the file; the file wins over defaults.
      const fromCli = (k: string): boolean => cmd.getOptionValueSource(k) === "cli";
      const controllers = o.controller !== undefined ? memberList("--controller", o.controller) : file.controller;
      let labels = file.labels ?? {};
      if (o.labels !== undefined) {
        try {
          labels = parseLabels(o.labels);
        } catch (e) {
          throw new CliError(e instanceof LabelError ? `--labels: ${e.message}` : String(e), EXIT.usage);
        }
      }
      const advertiseAddr = o.advertiseAddr ?? file.advertiseAddr;
      if (advertiseAddr !== undefined && !/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]{2,39})$/.test(advertiseAddr)) {
        throw new CliError(`--advertise-addr ${advertiseAddr}: expected an IP address`, EXIT.usage);
      }
      const logLevel = level(fromCli("logLevel") ? o.logLevel : (file.logLevel ?? o.logLevel));
      const log = createLogger("agent", logLevel);
      // Errors nobody caught end in the log, not in a silent death (agent/crash.ts says which goes on and why).
      let handle: Awaited<ReturnType<typeof startAgent>> | undefined;
      const unguard = guardProcess({ log, stop: async () => handle?.stop() });
      try {
        handle = await startAgent({
          dataDir: resolve(fromCli("dataDir") ? o.dataDir : (file.dataDir ?? o.dataDir)),
          controllers,
          token: o.token ?? file.token,
          labels,
          advertiseAddr,
          logLevel,
          logger: log,
          stopServicesOnExit: Boolean(o.stopServicesOnExit),
          metricsAddr: metricsAddr(fromCli("metricsAddr") ? o.metricsAddr : (file.metricsAddr ?? o.metricsAddr)),
        }).catch(metricsFailure);
        const sig = await untilSignal();
        process.stderr.write(`${sig}: stopping the agent\n`);
        await handle.stop();
      } catch (e) {
        if (e instanceof JoinError) throw new CliError(e.message, EXIT.denied);
        throw e;
      } finally {
        unguard();
      }
    });
  registerAgentInstall(agent);
}
