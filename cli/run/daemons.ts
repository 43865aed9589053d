/** What `berth controller` and `berth agent` do: the two long-running processes (descriptors: cli/commands/daemons.ts). Each imports its own world when it runs, not the other's. */
import { environmentFlag } from "../environment.js";
import { SecretKeyError } from "../../controller/secrets/crypto.js";
import type { Command } from "commander";
import { setFlagsFromString } from "node:v8";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { hostname } from "node:os";
import { LineCounter, parseDocument, isMap, isScalar } from "yaml";
import { parseMemberList } from "../../shared/members.js";
import { parseHostPort, formatHostPort } from "../../shared/addr.js";
import { FLAG_LIMITS, parseCertTtl, parseDurationFlag } from "../duration-flag.js";
import { createLogger, isLogLevel } from "../../shared/log/logger.js";
import { parseLabels, LabelError, labelProblems } from "../../shared/labels.js";
import { CliError, EXIT } from "../errors.js";
import { configPath, readConfigFile, writeConfigFile } from "../config.js";
import { joinToken } from "../join-token.js";
import { parseCountFlag } from "../count-flag.js";
import type { LevelWithSilent } from "pino";
import { MetricsListenError, parseMetricsAddr } from "../../shared/metrics/server.js";
import { untilSignal } from "../signals.js";

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
  // By name: the controller's modules load lazily, after the flags are checked.
  if (e instanceof Error && e.name === "HooksListenError") throw new CliError(e.message, EXIT.usage, "give another --hooks-addr HOST:PORT");
  throw e;
}

/** So is a taken --listen port: say so and exit, never linger without one. */
function listenFailure(e: unknown, listenError: abstract new (...args: never[]) => Error): never {
  if (e instanceof listenError) throw new CliError(`--listen: ${e.message}`, EXIT.usage, "stop the other controller, or give another --listen HOST:PORT");
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
  /** A file holding the join token (the token stays out of the config and of argv). */
  tokenFile?: string;
  dataDir?: string;
  labels?: Record<string, string>;
  advertiseAddr?: string;
  logLevel?: string;
  metricsAddr?: string;
  /** Services with run.user: root may run on this host (off by default). */
  allowRoot?: boolean;
  /** Artifacts kept besides the one in use. */
  keepArtifacts?: number;
  /** Departed instances whose logs are kept. */
  keepLogs?: number;
}

const AGENT_FILE_KEYS = new Set(["controller", "token", "tokenFile", "dataDir", "labels", "advertiseAddr", "logLevel", "metricsAddr", "allowRoot", "keepArtifacts", "keepLogs"]);

/** The most artifacts an agent may be told to keep besides the one in use. */
const MAX_KEEP_ARTIFACTS = 1000;
/** The most departed instances' logs an agent may be told to keep. */
const MAX_KEEP_LOGS = 1000;

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
    } else if (k === "allowRoot") {
      if (typeof v !== "boolean") problems.push(`${at(k)}: expected true or false`);
      else out.allowRoot = v;
    } else if (k === "keepArtifacts") {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_KEEP_ARTIFACTS) problems.push(`${at(k)}: expected a whole number from 0 to ${MAX_KEEP_ARTIFACTS}`);
      else out.keepArtifacts = v;
    } else if (k === "keepLogs") {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_KEEP_LOGS) problems.push(`${at(k)}: expected a whole number from 0 to ${MAX_KEEP_LOGS}`);
      else out.keepLogs = v;
    } else if (typeof v !== "string") problems.push(`${at(k)}: expected a string`);
    else (out as Record<string, string>)[k] = v;
  }
  if (problems.length) throw new CliError(problems.join("; "), EXIT.usage);
  return out;
}

/**
 * V8 flags the controller sets for itself, so every operator gets them without a
 * NODE_OPTIONS of their own. V8 lets the old generation grow to a multiple of what
 * survived the last full GC, chosen from GC speed — on a controller holding 1,000
 * agents, ~2.4× its ~48 MB of live objects (bench/README.md, "Memory per agent").
 * A growing factor of 1.5 keeps the heap closer to what is live; V8 reads it at every
 * GC, so setting it after start-up takes effect. An operator's own value
 * (NODE_OPTIONS or node's command line) wins.
 */
export const CONTROLLER_V8_FLAGS = ["--heap-growing-percent=50"] as const;

/**
 * V8 flags the agent sets for itself, the same way. An agent runs the code of a rollout
 * step (the assignment read, the old copy's stop, the new one's start, the reports) once
 * a rollout, so that code is always cold, and V8 interprets cold code. With baseline code
 * from a function's first call (Sparkplug, V8's non-optimising compiler), that path takes
 * less CPU while the new copy starts beside it: `npm run bench:rollout -- --case nowait`,
 * 9 trials each, berth's time a step over the floor 13.1 → 9.5 ms, the rollout record
 * 1.225 → 1.134 × the floor, agents' and controller's CPU 550 → 490 ms a restart; an
 * agent's RSS +4–5 MB (docs/performance.md, session 45). Set once the agent command
 * runs, before the agent's own modules are loaded: functions compiled from then on
 * get it (V8 reads it at each compile).
 */
export const AGENT_V8_FLAGS = ["--always-sparkplug"] as const;

/** Of `flags`, those that neither node's command line nor NODE_OPTIONS (`given`) names, in its --no- form either. */
export function ownV8Flags(flags: readonly string[], given: readonly string[]): string[] {
  const names = given.map((a) => a.split("=")[0]!.replaceAll("_", "-"));
  return flags.filter((flag) => {
    const name = flag.split("=")[0]!;
    return !names.some((g) => g === name || g === `--no-${name.slice(2)}`);
  });
}

function setOwnV8Flags(flags: readonly string[]): void {
  for (const flag of ownV8Flags(flags, [...process.execArgv, ...(process.env["NODE_OPTIONS"] ?? "").split(/\s+/)])) setFlagsFromString(flag);
}

export async function controller(o: { dataDir: string; listen: string; store?: string; etcdCa?: string; etcdCert?: string; etcdKey?: string; name?: string; advertise?: string; lease: string; heartbeatInterval: string; ttl: string; grace?: string; failoverGuard: string; metricsAddr: string; uiAddr: string; hooksAddr?: string; front?: string; logLevel: string; writeConfig: boolean; secretsKeyFile?: string; environment?: string; certTtl: string }): Promise<void> {
  // Everything the controller writes is its own: the store (LevelDB makes its files
  // with the default mode), artifacts, the CA's copy. Nothing readable by other users.
  process.umask(0o077);
  setOwnV8Flags(CONTROLLER_V8_FLAGS);
  const guardShare = Number(o.failoverGuard);
  if (!(guardShare > 0 && guardShare <= 1)) throw new CliError(`--failover-guard ${o.failoverGuard}: expected a share above 0 and at most 1, e.g. 0.5`, EXIT.usage);
  const listen = addr("--listen", o.listen);
  const heartbeatIntervalMs = parseDurationFlag("--heartbeat-interval", o.heartbeatInterval, { minMs: 100, max: FLAG_LIMITS.heartbeatInterval });
  const ttlMs = parseDurationFlag("--ttl", o.ttl, { minMs: 2 * heartbeatIntervalMs, max: FLAG_LIMITS.hostTtl });
  const graceMs = o.grace === undefined ? ttlMs : parseDurationFlag("--grace", o.grace, { minMs: ttlMs, max: FLAG_LIMITS.hostTtl });
  const certTtlMs = parseCertTtl(o.certTtl);
  const metrics = metricsAddr(o.metricsAddr);
  const environment = environmentFlag(o.environment);
  const uiAddr = o.uiAddr === "off" ? null : addr("--ui-addr", o.uiAddr);
  const leaseMs = parseDurationFlag("--lease", o.lease, { minMs: 2000, max: FLAG_LIMITS.hostTtl });
  if (o.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(o.name)) throw new CliError(`--name ${JSON.stringify(o.name)}: expected up to 128 letters, digits, '.', '_', ':' or '-'`, EXIT.usage);
  const advertise = o.advertise === undefined ? undefined : addr("--advertise", o.advertise);
  let hooks: ReturnType<typeof parseMetricsAddr> = null;
  try {
    hooks = o.hooksAddr === undefined ? null : parseMetricsAddr(o.hooksAddr);
  } catch (e) {
    throw new CliError(`--hooks-addr: ${(e as Error).message}`, EXIT.usage);
  }
  const front = o.front === undefined || o.front === "none" ? undefined : o.front;
  if (front !== undefined && front !== "haproxy") throw new CliError(`--front ${o.front}: expected haproxy or none`, EXIT.usage);
  const { ListenError, startController } = await import("../../controller/server.js");
  const { FrontError } = await import("../../controller/member/front.js");
  const { parseStoreLocation, StoreConfigError } = await import("../../controller/store/open.js");
  const { EtcdUnavailableError } = await import("../../controller/store/etcd-store.js");
  const { UiListenError } = await import("../../controller/ui/ui-server.js");
  const startFailure: (e: unknown) => never = (e) => {
    // A store that cannot be opened: the controller never serves agents without one.
    if (e instanceof StoreConfigError) throw new CliError(e.message, EXIT.usage);
    if (e instanceof EtcdUnavailableError) {
      throw new CliError(`--store: ${e.message}`, EXIT.unavailable, "check that etcd runs there, and the --etcd-ca/--etcd-cert/--etcd-key files for a TLS etcd");
    }
    if (e instanceof UiListenError) throw new CliError(e.message, EXIT.usage, "give another --ui-addr HOST:PORT, or --ui-addr off");
    if (e instanceof FrontError) throw new CliError(e.message, EXIT.usage, /not found/.test(e.message) ? "apt-get install haproxy, or --front none" : /in use/.test(e.message) ? "give another --listen HOST:PORT" : "or run it with --front none");
    // A missing, unreadable or malformed --secrets-key-file is this host's configuration (exit 2, README "Exit codes").
    if (e instanceof SecretKeyError) throw new CliError(e.message, EXIT.usage, o.secretsKeyFile !== undefined ? "--secrets-key-file: 32 bytes or 64 hex characters, mode 0600 (e.g. openssl rand -hex 32 > FILE)" : undefined);
    return listenFailure(e, ListenError);
  };
  const etcdTls = { ...(o.etcdCa ? { caFile: resolve(o.etcdCa) } : {}), ...(o.etcdCert ? { certFile: resolve(o.etcdCert) } : {}), ...(o.etcdKey ? { keyFile: resolve(o.etcdKey) } : {}) };
  let store: string | undefined;
  let member: string | undefined;
  if (o.store !== undefined) {
    // Checked before anything is created: a typo in --store changes nothing on disk.
    let where: ReturnType<typeof parseStoreLocation>;
    try {
      where = parseStoreLocation(o.store);
    } catch (e) {
      startFailure(e);
    }
    // A path is resolved here, so the controller's messages name the absolute dir.
    store = where.kind === "level" ? resolve(where.dir) : o.store;
    // On etcd this controller is a member of a group: it campaigns for leadership, and registers under its name.
    if (where.kind === "etcd") member = o.name ?? formatHostPort(advertise ?? (listen.host === "0.0.0.0" || listen.host === "::" ? { host: hostname(), port: listen.port } : listen));
  }
  const c = await startController({ dataDir: resolve(o.dataDir), listen, ...(store ? { storeUrl: store } : {}), etcdTls, ...(member !== undefined ? { member, leaseMs } : {}), ...(advertise ? { advertise } : {}), heartbeatIntervalMs, ttlMs, graceMs, guardShare, certTtlMs, metricsAddr: metrics, uiAddr, hooksAddr: hooks, ...(front ? { front } : {}), logLevel: level(o.logLevel), secretsKeyFile: o.secretsKeyFile === undefined ? undefined : resolve(o.secretsKeyFile), environment }).catch(startFailure);
  if (c.adminToken) {
    // The token itself never goes to stdout or stderr: a daemon's output ends in a
    // journal or a log file that others may read. It is in a 0600 file and, for this
    // user, in the CLI's config.
    const reach = listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host;
    const where = `${resolve(o.dataDir)}/admin.token`;
    process.stderr.write(`\nFirst start: created this controller's CA and its admin token, in ${where} (mode 0600).\n`);
    const cfg = { addr: formatHostPort({ host: reach, port: c.address.port }), token: c.adminToken, ca: c.caPem };
    // A config that names another controller is the user's way to reach that one: never replaced.
    const other = o.writeConfig ? await otherController(cfg.addr) : undefined;
    if (o.writeConfig && other === undefined) {
      const path = await writeConfigFile(cfg);
      process.stderr.write(`The berth CLI of this user is set up to use it (${path}).\n\n`);
    } else {
      const kept = other ? `The berth CLI config of this user (${other.path}) names another controller (${other.addr}): left as it is. ` : "";
      process.stderr.write(`${kept}Give this one to the CLI with BERTH_ADDR=${cfg.addr} BERTH_TOKEN="$(cat ${where})" BERTH_CA=${resolve(o.dataDir)}/ca.crt, or its config file.\n\n`);
    }
  }

  const sig = await untilSignal();
  process.stderr.write(`${sig}: stopping the controller\n`);
  await c.close();
}

/** The user's CLI config, when it names a controller other than `addr` (or cannot be read: then it is not ours to replace either). */
async function otherController(addr: string): Promise<{ path: string; addr: string } | undefined> {
  const path = configPath();
  let cfg: Awaited<ReturnType<typeof readConfigFile>>;
  try {
    cfg = await readConfigFile(path);
  } catch {
    return { path, addr: "unreadable" };
  }
  if (cfg === undefined || cfg.addr === undefined || cfg.addr === addr) return undefined;
  return { path, addr: cfg.addr };
}

export async function agent(o: { controller?: string; token?: string; tokenFile?: string; dataDir: string; labels?: string; advertiseAddr?: string; config?: string; logLevel: string; metricsAddr: string; stopServicesOnExit?: boolean; rejoin?: boolean; allowRoot?: boolean; keepArtifacts?: string; keepLogs?: string }, cmd: Command): Promise<void> {
  setOwnV8Flags(AGENT_V8_FLAGS);
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
  const keepArtifacts = o.keepArtifacts !== undefined ? parseCountFlag("--keep-artifacts", o.keepArtifacts, 0, MAX_KEEP_ARTIFACTS) : file.keepArtifacts;
  const keepLogs = o.keepLogs !== undefined ? parseCountFlag("--keep-logs", o.keepLogs, 0, MAX_KEEP_LOGS) : file.keepLogs;
  const log = createLogger("agent", logLevel);
  // Errors nobody caught end in the log, not in a silent death (agent/crash.ts says which goes on and why).
  const [{ startAgent, AgentRunningError }, { JoinError }, { guardProcess }, { CertificateExpiredError, HostRemovedError }] = await Promise.all([
    import("../../agent/agent.js"),
    import("../../agent/session/session.js"),
    import("../../agent/crash.js"),
    import("../../agent/session/errors.js"),
  ]);
  let handle: Awaited<ReturnType<typeof startAgent>> | undefined;
  const unguard = guardProcess({ log, stop: async () => handle?.stop() });
  try {
    handle = await startAgent({
      dataDir: resolve(fromCli("dataDir") ? o.dataDir : (file.dataDir ?? o.dataDir)),
      controllers,
      token: (await joinToken({ flag: o.token, flagFile: o.tokenFile, env: process.env.BERTH_JOIN_TOKEN, file: file.token, fileTokenFile: file.tokenFile }))?.token,
      labels,
      advertiseAddr,
      logLevel,
      logger: log,
      stopServicesOnExit: Boolean(o.stopServicesOnExit),
      rejoin: Boolean(o.rejoin),
      allowRoot: o.allowRoot === true || file.allowRoot === true,
      ...(keepArtifacts !== undefined ? { keepArtifacts } : {}),
      ...(keepLogs !== undefined ? { keepLogs } : {}),
      metricsAddr: metricsAddr(fromCli("metricsAddr") ? o.metricsAddr : (file.metricsAddr ?? o.metricsAddr)),
    }).catch(metricsFailure);
    const ended = await Promise.race([untilSignal(), handle.fatal]);
    if (ended instanceof Error) {
      // A removed host runs nothing any more; an expired one keeps its service for its re-join to adopt.
      await handle.stop({ stopServices: ended instanceof HostRemovedError ? true : undefined });
      throw new CliError(ended.message, EXIT.denied);
    }
    process.stderr.write(`${ended}: stopping the agent\n`);
    await handle.stop();
  } catch (e) {
    if (e instanceof JoinError || e instanceof CertificateExpiredError) throw new CliError(e.message, EXIT.denied);
    if (e instanceof AgentRunningError) throw new CliError(e.message, EXIT.failed, `stop it first (systemctl stop berth-agent, or kill -TERM ${e.pid}), or give this one another --data-dir`);
    throw e;
  } finally {
    unguard();
  }
}
