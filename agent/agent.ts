/**
 * Starts an agent: gathers the host's facts (once, then in the background),
 * samples its usage, and runs the controller session.
 */
import { SecretMaterial, secretsRoot } from "./secrets/material.js";
import { chmod, mkdir } from "node:fs/promises";
import { claimPidFile, isLiveProcessOf } from "../shared/pid-lock.js";
import { join } from "node:path";
import type { LevelWithSilent } from "pino";
import { createLogger, type Logger } from "../shared/log/logger.js";
import { routeGrpcLogs } from "../shared/log/grpc-log.js";
import type { Labels } from "../shared/labels.js";
import { VERSION } from "../shared/version.js";
import { FactsCache, UsageSampler } from "./facts/usage.js";
import { mapNodeOs, readNodeOs } from "./facts/facts.js";
import { AgentSession } from "./session/session.js";
import { Converger } from "./converge/converger.js";
import { realSteps } from "./converge/steps.js";
import { AgentMetrics } from "./metrics.js";
import { serveMetrics, type MetricsServer } from "../shared/metrics/server.js";
import { formatHostPort, type HostPort } from "../shared/addr.js";
import { ExecSessions, type ExecContext } from "./exec/sessions.js";
import { ExecLedger } from "./exec/ledger.js";
import { LogFollows } from "./logs/follows.js";
import { EXEC_KILL_GRACE_MS } from "../shared/exec/limits.js";
import { serviceEnv } from "./supervisor/env.js";
import { resolveUser } from "./supervisor/proc.js";
import { privatizeDir } from "../shared/state-file.js";
import { loadLastContact, saveLastContact } from "./contact.js";

export interface AgentOptions {
  dataDir: string;
  /** The controller's members (HOST:PORT each, parsed by shared/members.ts); required to join. */
  controllers?: readonly string[];
  token?: string;
  labels?: Labels;
  advertiseAddr?: string;
  logLevel?: LevelWithSilent;
  logger?: Logger;
  /** Stop the service too when the agent stops (berth dev); default: leave it for re-adoption. */
  stopServicesOnExit?: boolean;
  /**
   * Services with run.user: root may run here (agent.yaml allowRoot; shared/spec/run-as.ts).
   * Reported to the controller as the fact allow_root. @default false
   */
  allowRoot?: boolean;
  /** Where to serve /metrics over plain HTTP; absent or null: not served (the CLI's default is 127.0.0.1:9465). */
  metricsAddr?: HostPort | null;
  /** `berth agent --rejoin`: join again keeping the stored host id (its certificate expired). */
  rejoin?: boolean;
  /** Artifacts kept besides the one in use (agent.yaml keepArtifacts). @default DEFAULT_KEEP_ARTIFACTS (converge/steps.ts) */
  keepArtifacts?: number;
  /** Departed instances whose logs are kept (agent.yaml keepLogs). @default DEFAULT_KEEP_LOGS (logs/sweep.ts) */
  keepLogs?: number;
}

export interface AgentHandle {
  hostId: string;
  session: AgentSession;
  /** Where /metrics is served, when it is. */
  metricsAddress?: HostPort;
  /**
   * Settles when the session gives up for good: the certificate expired
   * (CertificateExpiredError) or the host was removed (HostRemovedError). The caller
   * then stops the agent — stopping its services too when the host was removed.
   */
  fatal: Promise<Error>;
  stop(o?: { stopServices?: boolean }): Promise<void>;
}

export async function startAgent(opts: AgentOptions): Promise<AgentHandle> {
  const log = opts.logger ?? createLogger("agent", opts.logLevel ?? "info");
  routeGrpcLogs(log);
  // Traversable but not listable: a service running as another user (run.user)
  // must reach its artifact folder below; identity/ keeps its own 0700.
  await mkdir(opts.dataDir, { recursive: true, mode: 0o711 });
  await chmod(opts.dataDir, 0o711);
  // One agent per data dir: a second one (systemd's and a hand-started one) would adopt the
  // same processes and take the host's stream from the first, three times a second.
  const claim = await claimPidFile(join(opts.dataDir, "agent.pid"), { pid: process.pid, dataDir: opts.dataDir }, { parse: parseAgentPid, isHolder: (pid) => isLiveProcessOf(pid, "agent") });
  if (!claim.ok) throw new AgentRunningError(opts.dataDir, claim.holder.pid);
  const facts = new FactsCache({ agentVersion: VERSION, onError: (err) => log.warn({ err }, "refreshing host facts failed") });
  // The first collection is awaited (each call is bounded) so Join and Hello carry
  // real facts; later refreshes run in the background and never block a heartbeat.
  await facts.refresh().catch((err: unknown) => log.warn({ err }, "collecting host facts failed; reporting the basics"));
  facts.start();
  const fallback = { ...mapNodeOs(readNodeOs()), agent_version: VERSION };
  const usage = new UsageSampler({ dataDir: opts.dataDir, intervalMs: 1000, onError: (err) => log.warn({ err }, "usage sample failed") });
  usage.start();
  // Until the controller says otherwise (Welcome), the address given, or loopback.
  let advertise = opts.advertiseAddr ?? "";
  const advertiseAddr = (): string => advertise || "127.0.0.1";
  // The converger reports through the session, which is made after it (it needs
  // the converger's restored state for its Hello): a late-bound link.
  const link: { session?: AgentSession } = {};
  // Self-fencing must survive an agent restart: the last time the controller was
  // heard from is kept on disk (once a second), and a restarted agent counts from
  // it, not from its own start — else a restart mid-partition would reset the
  // clock and the isolated copy would outlive the controller's wait.
  const contactFile = join(opts.dataDir, "instance", "last-contact");
  // instance/ holds the specs and environments of what runs here (current.json,
  // the supervisor's records) and install/ the install specs: owner-only, also
  // for files an older agent wrote world-readable.
  await privatizeDir(join(opts.dataDir, "instance"));
  await privatizeDir(join(opts.dataDir, "install"));
  await privatizeDir(join(opts.dataDir, "install", "installed"));
  // On the monotonic clock (agent/contact.ts): an NTP step must not move the fencing deadline.
  const persistedContact = await loadLastContact(contactFile);

  // Read at scrape time only, when the converger and the session exist.
  const metrics = new AgentMetrics({ instance: () => converger.status(), connected: () => link.session?.connected ?? false });
  /** The artifacts this host holds, for its Hello (the scheduler prefers a host that has a service's). */
  let artifacts: string[] = [];
  const steps = realSteps({
    onInstall: (o) => metrics.installed(o),
    ...(opts.keepArtifacts !== undefined ? { keepArtifacts: opts.keepArtifacts } : {}),
    ...(opts.keepLogs !== undefined ? { keepLogs: opts.keepLogs } : {}),
    onSwept: (held) => (artifacts = held),
    dataDir: opts.dataDir,
    log,
    advertiseAddr,
    allowRoot: opts.allowRoot ?? false,
    fetchStored: (sha, signal) => link.session!.fetchArtifact(sha, signal),
  });
  // Secret values live on tmpfs where the host has one: a reboot or a stolen disk holds none.
  const secretsAt = secretsRoot(opts.dataDir);
  if (!secretsAt.tmpfs) log.warn({ dir: secretsAt.dir }, "/run is not a tmpfs: secret environments are kept in the data dir");
  const converger = new Converger({
    secrets: new SecretMaterial(secretsAt.dir),
    dataDir: opts.dataDir,
    advertiseAddr,
    log,
    steps,
    report: (st) => void link.session?.send({ instance_status: st }),
    readPast: (cb) => link.session?.readPast(cb),
    // Before the session exists (re-adoption at start), the persisted last contact counts.
    lastContactMs: () => link.session?.lastContactMs() ?? persistedContact,
  });
  await converger.restore();
  artifacts = await steps.cache.list();
  // `berth logs [-f]`: flow-controlled, and ended with the stream that asked.
  const logs = new LogFollows({
    send: (m) => link.session?.send(m) ?? false,
    log,
    open: (r, onData) => (r.instance === "" && r.departed_service ? converger.departedLogs(r.departed_service, r.tail, onData) : converger.logs(r.instance, r.install, r.tail, r.follow, onData)),
  });
  // `berth exec`: on the host (its own user and home), or in a running instance's
  // working dir, with its environment and as its user.
  const execContext = (instance: string): ExecContext | string => {
    if (!instance) return { cwd: process.env.HOME || "/", env: serviceEnv(process.env, {}, undefined) };
    const c = converger.execContext(instance);
    if (typeof c === "string") return c;
    // The ids (and HOME) its process runs with; looked up only when the converger has none.
    let ids = c.ids;
    try {
      ids ??= c.user ? resolveUser(c.user) : undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    return { cwd: c.cwd, env: serviceEnv(process.env, c.env, ids?.home, ids), uid: ids?.uid, gid: ids?.gid };
  };
  // Sessions a previous agent left (it was killed before it could end them) end now.
  const ledgerFile = join(opts.dataDir, "exec", "sessions.json");
  await ExecLedger.reapLeftovers(ledgerFile, EXEC_KILL_GRACE_MS, log);
  const execs = new ExecSessions({ send: (m) => link.session?.send(m) ?? false, log, context: execContext, ledger: new ExecLedger(ledgerFile) });
  const session = new AgentSession({
    dataDir: opts.dataDir,
    controllers: opts.controllers,
    token: opts.token,
    rejoin: opts.rejoin,
    labels: opts.labels ?? {},
    advertiseAddr: opts.advertiseAddr,
    log,
    facts: () => ({ ...(facts.current() ?? fallback), allow_root: opts.allowRoot ?? false }),
    usage: () => usage.latest(),
    running: () => converger.runningNow(),
    artifacts: () => artifacts,
    onAssignment: (a) => converger.assign(a),
    onLogRequest: (r) => logs.request(r),
    onLogCancel: (id) => logs.cancel(id),
    onLogAck: (a) => logs.ack(a.request_id, a.chars),
    initialContactMs: persistedContact,
    onExec: (m) => void execs.handle(m),
  });
  link.session = session;
  const fatal = new Promise<Error>((resolve) => session.once("fatal", resolve));
  let savedContact = persistedContact;
  /** Said once while saving fails (a full disk fails it every second), and once when it works again. */
  let saveFailing = false;
  const contactTimer = setInterval(() => {
    const t = session.lastContactMs();
    if (t <= savedContact + 500) return;
    savedContact = t;
    void saveLastContact(contactFile, t).then(
      () => {
        if (saveFailing) log.info("saving the last contact time works again");
        saveFailing = false;
      },
      (err: unknown) => {
        if (!saveFailing) log.warn({ err: err instanceof Error ? err.message : String(err) }, "saving the last contact time failed (said once until it works again)");
        saveFailing = true;
      },
    );
  }, 1000);
  contactTimer.unref();
  session.on("heartbeatAck", (a) => metrics.heartbeatAck(a.rttMs));
  session.on("connected", (c) => {
    metrics.connected();
    if (c.advertiseAddr) advertise = c.advertiseAddr;
    converger.reportNow();
    // Caught: an unreadable artifacts dir (EMFILE, EIO) once rejected here unhandled and ended the agent.
    steps.cache.list().then(
      (l) => (artifacts = l),
      (err: unknown) => log.warn({ err }, "listing the artifact cache failed; Hello keeps the last list"),
    );
  });
  session.on("disconnected", () => {
    converger.disconnected();
    // Log follows and exec sessions die with the stream that asked for them.
    logs.closeAll();
    void execs.closeAll("the controller stream was lost");
  });
  let metricsServer: MetricsServer | undefined;
  try {
    // Before joining: a taken port fails the start at once, not after the join spent a token use.
    if (opts.metricsAddr) metricsServer = await serveMetrics(metrics.registry, opts.metricsAddr);
    const identity = await session.start();
    log.info({ host: identity.hostId, metrics: metricsServer ? formatHostPort(metricsServer.address) : "off" }, "agent started");
    return {
      hostId: identity.hostId,
      session,
      metricsAddress: metricsServer?.address,
      fatal,
      async stop(o = {}) {
        clearInterval(contactTimer);
        await metricsServer?.close();
        logs.closeAll();
        const stopService = o.stopServices ?? opts.stopServicesOnExit;
        // A service stopped with the agent is stopped while the session is up, so that it says so
        // (the copy leaves the endpoints at once); one left running outlives the session.
        if (stopService) {
          await execs.closeAll("the agent is stopping");
          await converger.shutdown({ stopService });
          await session.stop();
        } else {
          await session.stop();
          await execs.closeAll("the agent is stopping");
          await converger.shutdown({ stopService });
        }
        usage.stop();
        facts.stop();
        await claim.release();
      },
    };
  } catch (err) {
    // What restore() re-adopted keeps running (this agent never took charge of it): only let go
    // of it, or its watch holds the process open and the failed start never exits.
    await converger.shutdown().catch((e: unknown) => log.warn({ err: e }, "letting go of the re-adopted instance failed"));
    logs.closeAll();
    await execs.closeAll("the agent did not start");
    await session.stop().catch(() => undefined);
    await metricsServer?.close();
    clearInterval(contactTimer);
    usage.stop();
    facts.stop();
    await claim.release();
    throw err;
  }
}

/** Another agent runs from this data dir. */
export class AgentRunningError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`another agent (pid ${pid}) runs from ${dataDir}: two agents on one data dir would fight over its processes and its host's stream`);
    this.name = "AgentRunningError";
  }
}

function parseAgentPid(text: string): { pid: number; dataDir: string } | undefined {
  try {
    const v = JSON.parse(text) as { pid?: unknown; dataDir?: unknown };
    return Number.isInteger(v.pid) && typeof v.dataDir === "string" ? { pid: v.pid as number, dataDir: v.dataDir } : undefined;
  } catch {
    return undefined;
  }
}
