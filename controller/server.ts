/**
 * Starts a controller: opens the store, loads (or on first start creates) the
 * CA and the admin token, serves AgentService and OperatorService on one TLS
 * port, and runs the failure detector.
 */
import { monoMs } from "../shared/clock.js";
import * as grpc from "@grpc/grpc-js";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadProtos } from "../shared/proto.js";
import { createLogger, type Logger } from "../shared/log/logger.js";
import type { LevelWithSilent } from "pino";
import { formatHostPort, type HostPort } from "../shared/addr.js";
import { caFingerprint, createCa, createServerCert, CONTROLLER_TLS_NAME, grpcServerCredentials, KEEPALIVE_MS, KEEPALIVE_TIMEOUT_MS } from "../shared/tls/pki.js";
import { openStore, type EtcdTlsPaths } from "./store/open.js";
import type { Quarantined } from "./store/record.js";
import type { Store } from "./store/store.js";
import { EventLog } from "./events/event-log.js";
import { TokenService } from "./auth/token-service.js";
import { HostRegistry } from "./hosts/registry.js";
import { judgeLiveness, type DetectorConfig } from "./failure/detector.js";
import { DEFAULT_GUARD_SHARE, judgeGuard, type GuardVerdict } from "./failure/guard.js";
import { GuardStore, type GuardState } from "./failure/guard-state.js";
import { agentServiceHandlers } from "./api/agent-service.js";
import { operatorServiceHandlers } from "./api/operator-service.js";
import { serviceHandlers, serviceOrNotFound } from "./api/service-handlers.js";
import { LbAppliedBook, lbHandlers } from "./api/lb-handlers.js";
import { rolloutHandlers } from "./api/rollout-handlers.js";
import { LogRouter } from "./api/log-router.js";
import { ExecRouter } from "./api/exec-router.js";
import { auditOrphanedExecs, execHandlers } from "./api/exec-handler.js";
import { requestArrivalInterceptor } from "./api/request-deadline.js";
import { ArtifactStore } from "./artifacts/artifact-store.js";
import { ServiceState } from "./services/state.js";
import { instanceId } from "./services/records.js";
import { ReconcileLoop } from "./reconcile/loop.js";
import { readdir } from "node:fs/promises";
import { Coalescer } from "../shared/coalesce.js";
import { AuditLog } from "./audit/audit-log.js";
import { ControllerMetrics } from "./metrics.js";
import { serveMetrics, type MetricsServer } from "../shared/metrics/server.js";
import { hostStatus } from "./hosts/host.js";
import { effectiveState } from "./services/effective-state.js";
import { setIntervalClamped } from "../shared/timer.js";
import { loadSecretKey } from "./secrets/crypto.js";
import { SecretStore } from "./secrets/secret-store.js";
import { secretHandlers } from "./api/secret-handlers.js";

export interface ControllerOptions {
  dataDir: string;
  /**
   * Where the state lives (controller/store/open.ts): a directory (LevelDB) or
   * `etcd://host:port,…`. @default <dataDir>/store
   */
  store?: string;
  /** TLS files for an etcd:// store. */
  etcdTls?: EtcdTlsPaths;
  listen: HostPort;
  /** @default 1000 */
  heartbeatIntervalMs?: number;
  /** A host is down after this long without a heartbeat. @default 5000 */
  ttlMs?: number;
  /**
   * After a start, how long a known host may take to reconnect before it is judged:
   * measured from when the controller listens. `berth dev` sets it longer, as it starts
   * its agents only once the controller answers, and on a loaded machine they take
   * seconds to connect. @default ttlMs
   */
  graceMs?: number;
  logLevel?: LevelWithSilent;
  logger?: Logger;
  /** Wall clock: timestamps stored and shown. @default Date.now */
  now?: () => number;
  /** Monotonic clock: every interval (heartbeat ages, the fencing wait). @default monoMs */
  mono?: () => number;
  /** Largest message accepted from a client. @default 1 MiB */
  maxMessageBytes?: number;
  /** Share of ready hosts whose loss within one TTL pauses failover; 1 turns the guard off. @default 0.5 */
  guardShare?: number;
  /** Where to serve /metrics over plain HTTP; absent or null: not served (the CLI's default is 127.0.0.1:9464). */
  metricsAddr?: HostPort | null;
  /** A connection whose TLS handshake is not done this long after it opened is dropped. @default TLS_HANDSHAKE_TIMEOUT_MS (10 s) */
  handshakeTimeoutMs?: number;
  /** A connection with no call open for this long is closed (GOAWAY); one with a call open never is. @default IDLE_CONNECTION_MS (30 s) */
  idleConnectionMs?: number;
  /** A unary or server-streaming call whose request has not fully arrived in this long is ended. @default REQUEST_ARRIVAL_MS (30 s) */
  requestArrivalMs?: number;
  /**
   * The key secrets are encrypted with (32 bytes, or 64 hex characters); a controller
   * group shares one. @default <dataDir>/secrets.key, made on first start (mode 0600)
   */
  secretsKeyFile?: string;
}

/**
 * A connection with no call in flight is closed after this long. It bounds what
 * a peer that finished TLS but never calls (or stalls HTTP/2 with a zero window)
 * can hold; it cuts nothing in use: an agent's stream, a quiet `events -f` or
 * `logs -f` is an open call (kept alive by pings, KEEPALIVE_MS), and a client
 * whose connection was closed while idle reconnects on its next call.
 */
export const IDLE_CONNECTION_MS = 30_000;

export interface ControllerHandle {
  /** The address actually bound (port 0 → the chosen port). */
  address: HostPort;
  caPem: string;
  caFingerprint: string;
  /** Set only on the first start, when the bootstrap admin token is made. */
  adminToken?: string;
  /** Where /metrics is served, when it is. */
  metricsAddress?: HostPort;
  store: Store;
  close(): Promise<void>;
}

const CA_KEY = "pki/ca";

/** The controller's --listen address cannot be bound: taken (another controller?) or not ours. */
export class ListenError extends Error {
  constructor(
    readonly addr: string,
    cause: Error,
  ) {
    // grpc-js wraps the socket error: "No address added out of total 1 resolved errors: [listen EADDRINUSE: …]".
    const inUse = /EADDRINUSE/.test(cause.message);
    const notOurs = /EADDRNOTAVAIL/.test(cause.message);
    super(
      inUse
        ? `${addr} is already in use (another controller, or \`berth dev\`, running?)`
        : notOurs
          ? `${addr} is not an address of this machine`
          : `cannot listen on ${addr}: ${cause.message}`,
      { cause },
    );
    this.name = "ListenError";
  }
}

export async function startController(opts: ControllerOptions): Promise<ControllerHandle> {
  const now = opts.now ?? Date.now;
  const mono = opts.mono ?? monoMs;
  const log = opts.logger ?? createLogger("controller", opts.logLevel ?? "info");
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 1000;
  const ttlMs = opts.ttlMs ?? 5000;
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  // Opened before anything listens: a store that cannot be reached fails the start.
  const store = await openStore(opts.store ?? join(opts.dataDir, "store"), opts.etcdTls ? { etcdTls: opts.etcdTls } : {});
  try {
    // The CA lives in the store, not beside it: a controller group sharing a
    // store (etcd) shares its CA. ca.crt is written out (0600: root copies it to where clients need it).
    let ca: { certPem: string; keyPem: string };
    const caKv = await store.get(CA_KEY);
    if (caKv) ca = JSON.parse(caKv.value) as typeof ca;
    else {
      ca = await createCa({ commonName: "berth controller CA" });
      const res = await store.txn([{ key: CA_KEY, modRevision: 0 }], [{ type: "put", key: CA_KEY, value: JSON.stringify(ca) }]);
      if (!res.succeeded) ca = JSON.parse((await store.get(CA_KEY))!.value) as typeof ca;
    }
    const fingerprint = caFingerprint(ca.certPem);
    await writeFile(join(opts.dataDir, "ca.crt"), ca.certPem + "\n", { mode: 0o600 });

    const events = new EventLog(store, now);
    await events.init();
    const reportQuarantined = async (q: Quarantined, consequence: string): Promise<void> => {
      const message = `stored record ${q.key} is unusable and left alone: ${q.reason}; ${consequence}`;
      log.error({ key: q.key, reason: q.reason }, "record quarantined");
      await events.append({ type: "record.quarantined", message });
    };
    const tokens = new TokenService(store, now, fingerprint);
    await tokens.start();
    const registry = new HostRegistry(store, events);
    const state = new ServiceState(store, events);
    // A record that fails validation is quarantined, never thrown: one bad record
    // must not keep the controller down (the reconcile loop reports a service's own).
    for (const q of await registry.load()) await reportQuarantined(q, "its host must join again (berth agent install)");
    await state.load();
    const secretsKey = await loadSecretKey(opts.secretsKeyFile ?? join(opts.dataDir, "secrets.key"), { create: opts.secretsKeyFile === undefined });
    const secrets = new SecretStore(store, secretsKey, log);
    await secrets.load();
    const artifacts = new ArtifactStore(join(opts.dataDir, "artifacts"));
    await artifacts.init();
    const artifactsKnown = new Set((await readdir(join(opts.dataDir, "artifacts"))).filter((f) => /^[0-9a-f]{64}$/.test(f)));
    // Mass-failure guard: its verdict is computed from the live view on every
    // reconcile pass, so no pass can act between hosts going down and the guard
    // noticing; what is stored is the sticky part (paused, and when an operator
    // resumed, after which earlier losses no longer count).
    const guardCfg = { share: opts.guardShare ?? DEFAULT_GUARD_SHARE, ttlMs, minHosts: 3 };
    const guard = await GuardStore.load(store, events);
    if (guard.quarantined) await reportQuarantined(guard.quarantined, "the guard starts unpaused");
    const guardNow = (): GuardVerdict => {
      const t = now();
      const hosts = registry.all().filter((h) => !h.cordoned && h.health !== "joining");
      // Hosts killed together cross their TTL up to a heartbeat apart: count the
      // ones already silent for two heartbeats as going down now.
      const downSince = hosts.flatMap((h) => {
        if (h.health === "down") return [h.healthSinceMs];
        const last = registry.live.get(h.id)?.lastHeartbeatMono;
        return last !== undefined && mono() - last > 2 * heartbeatIntervalMs ? [t] : [];
      });
      return judgeGuard({ downSinceMs: downSince.filter((x) => x > guard.current.resumedAtMs), hosts: hosts.length, paused: guard.current.paused, nowMs: t }, guardCfg);
    };
    const saveGuard = async (next: GuardState, ev: { type: string; message: string; actor?: string }): Promise<void> => {
      await guard.save(next, ev);
      log.warn({ paused: next.paused, reason: next.reason }, ev.message);
    };
    const syncGuard = async (): Promise<void> => {
      const v = guardNow();
      const g = guard.current;
      if (v.paused && !g.paused) await saveGuard({ ...g, paused: true, reason: v.reason, sinceMs: now() }, { type: "failover.paused", message: `failover paused: ${v.reason}` });
      else if (!v.paused && g.paused) await saveGuard({ ...g, paused: false, reason: "", sinceMs: now() }, { type: "failover.resumed", message: "failover resumed: hosts are back" });
    };
    const startedMono = mono();
    // The start as a wall time measured back from now on the monotonic clock, like heartbeat ages (loop.ts hostView).
    const loop = new ReconcileLoop({ state, registry, log, now, mono, secrets, failover: () => ({ paused: guardNow().paused, controllerStartedAtMs: now() - (mono() - startedMono) }) });
    secrets.onChange = () => loop.secretsChanged();
    const logs = new LogRouter();
    const metrics = new ControllerMetrics(
      {
        hosts: () => registry.all().map((h) => ({ status: hostStatus(h), connected: registry.live.get(h.id)?.disconnect !== undefined })),
        instances: () => state.allInstances().map((i) => ({ service: i.service, state: effectiveState(i, registry.get(i.hostId), loop.observed).state })),
        services: () => state.allServices().map((s) => ({ name: s.name, instances: s.spec.instances })),
        failoverPaused: () => guardNow().paused,
        rolloutsInProgress: () => state.allRollouts().filter((r) => r.status !== "succeeded" && r.status !== "failed").length,
      },
      { heartbeatIntervalMs },
    );
    loop.onCommitted((evs) => metrics.reconciled(evs));
    const execs = new ExecRouter(undefined, now());

    let adminToken: string | undefined;
    if (!(await tokens.hasAny())) {
      const minted = await tokens.create({ role: "admin", description: "bootstrap admin token" });
      adminToken = minted.token;
      await writeFile(join(opts.dataDir, "admin.token"), adminToken + "\n", { mode: 0o600 });
      await events.append({ type: "token.created", message: `bootstrap admin token ${minted.record.id} created` });
    }

    const ips = opts.listen.host === "0.0.0.0" || opts.listen.host === "::" ? [] : [opts.listen.host];
    const server = await createServerCert(ca, { dnsNames: [CONTROLLER_TLS_NAME, "localhost"], ips: ips.filter((ip) => /^[\d.:a-fA-F]+$/.test(ip)) });

    // Failure detector: level-triggered over in-memory heartbeat times.
    // On the monotonic clock, all of it: a wall clock stepped forward must not declare hosts down.
    // The grace period starts when agents can reach us again (set below, once listening):
    // until then nobody is judged.
    const detector: DetectorConfig = { ttlMs, graceUntilMs: Number.POSITIVE_INFINITY, startedAtMs: startedMono };
    const detectorPass = async (): Promise<void> => {
      const input = registry.all().map((h) => {
        const live = registry.live.get(h.id);
        return { id: h.id, health: h.health, lastHeartbeatMs: live?.lastHeartbeatMono, fenced: (live?.fencing.size ?? 0) > 0 };
      });
      const t = now();
      for (const tr of judgeLiveness(input, mono(), detector)) {
        await registry.update(tr.id, (rec) => {
          if (rec.health === tr.to) return undefined;
          const type = tr.to === "down" ? "host.down" : rec.health === "joining" ? "host.ready" : "host.back";
          const message =
            tr.to === "down" ? `no heartbeat for ${(tr.silentForMs / 1000).toFixed(1)}s (ttl ${ttlMs / 1000}s)` : type === "host.ready" ? "ready" : "back: heartbeats resumed";
          if (tr.to === "down") {
            log.warn({ host: rec.id, silentMs: tr.silentForMs }, "host down");
            // A host declared down comes back only through a new Hello, where it
            // says what it runs (and is fenced): its old stream, stalled behind
            // a cut link, may deliver stale heartbeats when the link heals.
            const live = registry.live.get(rec.id);
            live?.disconnect?.("host declared down");
            if (live) {
              live.disconnect = undefined;
              live.send = undefined;
              live.streamId = undefined;
            }
          } else log.info({ host: rec.id }, type === "host.ready" ? "host ready" : "host back");
          return { rec: { ...rec, health: tr.to, healthSinceMs: t }, event: { type, host: rec.id, message } };
        });
        loop.kick();
      }
      await syncGuard();
    };
    const detectorRunner = new Coalescer(detectorPass, (err) => log.error({ err }, "failure detector pass failed"));
    const judge = (): void => detectorRunner.kick();
    const tickMs = Math.max(50, Math.min(500, Math.floor(ttlMs / 20)));
    const ticker = setIntervalClamped(() => void judge(), tickMs);

    const protos = loadProtos();
    const maxBytes = opts.maxMessageBytes ?? 1024 * 1024;
    const grpcServer = new grpc.Server({
      "grpc.max_receive_message_length": maxBytes,
      "grpc.max_send_message_length": 16 * 1024 * 1024,
      // Agents may ping to keep NAT mappings alive; don't punish them for it.
      "grpc.keepalive_permit_without_calls": 1,
      // And we ping quiet clients: an operator whose `exec -it` vanished without a
      // word (no RST) is noticed, its call cancelled, its session ended on the host.
      "grpc.keepalive_time_ms": KEEPALIVE_MS,
      "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
      "grpc.max_connection_idle_ms": opts.idleConnectionMs ?? IDLE_CONNECTION_MS,
      interceptors: [metrics.grpcInterceptor, requestArrivalInterceptor(opts.requestArrivalMs)],
    });
    grpcServer.addService(
      protos.agent.berth.v1.AgentService.service,
      agentServiceHandlers({ registry, tokens, ca, log, now, mono, heartbeatIntervalMs, ttlMs, onLiveness: () => void judge(), loop, artifacts, logs, events, metrics, execs }),
    );
    const serviceOf = (hostId: string): string => {
      const a = state.hostAssignments().get(hostId);
      return a ? instanceId(a.inst.service, a.inst.slot) : "";
    };
    const failoverState = (): { paused: boolean; reason: string; since_ms: number } => {
      const v = guardNow();
      return { paused: v.paused, reason: v.paused ? v.reason : "", since_ms: guard.current.sinceMs };
    };
    const resumeFailover = async (actor: string): Promise<ReturnType<typeof failoverState>> => {
      await saveGuard({ paused: false, reason: "", sinceMs: now(), resumedAtMs: now() }, { type: "failover.resumed", message: "failover resumed by an operator", actor });
      loop.kick();
      return failoverState();
    };
    const audit = new AuditLog(store, now);
    await audit.init();
    audit.start((err) => log.error({ err }, "writing aggregated refusals to the audit log failed"));
    const orphaned = await auditOrphanedExecs(audit, now());
    if (orphaned) log.warn({ sessions: orphaned }, "exec sessions cut by the last controller stop are recorded as ended");
    const opDeps = { registry, tokens, events, store, log, now, serviceOf, failoverState, resumeFailover, audit };
    const lbs = new LbAppliedBook(now);
    grpcServer.addService(protos.operator.berth.v1.OperatorService.service, {
      ...operatorServiceHandlers(opDeps),
      ...serviceHandlers({ ...opDeps, state, loop, artifacts, artifactsKnown, logs, secrets, lbs }),
      ...secretHandlers({ ...opDeps, state, loop, secrets }),
      ...lbHandlers({ ...opDeps, state, lbs }),
      ...rolloutHandlers({
        ...opDeps,
        state,
        loop,
        service: (name) => serviceOrNotFound(state, name),
      }),
      ...execHandlers({ ...opDeps, state, execs }),
    });
    const creds = grpcServerCredentials(ca.certPem, server.certPem, server.keyPem, { handshakeTimeoutMs: opts.handshakeTimeoutMs });
    // Everything started so far keeps the process alive: a controller that cannot
    // listen must stop it all and fail, not print the error and linger without a port.
    const abortStart = async (): Promise<void> => {
      clearInterval(ticker);
      grpcServer.forceShutdown();
      await audit.close().catch(() => undefined);
    };
    const port = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync(formatHostPort(opts.listen), creds, (err, p) => (err ? reject(new ListenError(formatHostPort(opts.listen), err)) : resolve(p))),
    ).catch(async (err: unknown) => {
      await abortStart();
      throw err;
    });
    const address = { host: opts.listen.host, port };
    // One TTL of grace from now, not from the process start: keys, the audit log and the
    // bind before this take seconds on a loaded host, and agents (whose reconnect backoff is
    // capped at TTL/2 for this) reconnecting within one TTL of our listening again must not
    // be declared down and have their instances replaced while they still run them.
    const listeningAtMono = mono();
    detector.startedAtMs = listeningAtMono;
    detector.graceUntilMs = listeningAtMono + Math.max(ttlMs, opts.graceMs ?? ttlMs);
    let metricsServer: MetricsServer | undefined;
    if (opts.metricsAddr) {
      try {
        metricsServer = await serveMetrics(metrics.registry, opts.metricsAddr);
      } catch (err) {
        await abortStart();
        throw err;
      }
    }
    await events.append({ type: "controller.started", message: `controller started on ${formatHostPort(address)}` });
    loop.start();
    log.info({ addr: formatHostPort(address), metrics: metricsServer ? formatHostPort(metricsServer.address) : "off", hosts: registry.all().length, ca: fingerprint.slice(0, 16) }, "controller started");

    let closing: Promise<void> | undefined;
    return {
      address,
      caPem: ca.certPem,
      caFingerprint: fingerprint,
      adminToken,
      metricsAddress: metricsServer?.address,
      store,
      close() {
        closing ??= (async () => {
          clearInterval(ticker);
          await metricsServer?.close();
          await loop.stop();
          tokens.stop();
          secrets.close();
          await detectorRunner.close();
          for (const l of registry.live.values()) l.disconnect?.("controller shutting down");
          await new Promise<void>((resolve) => {
            const force = setTimeout(() => {
              grpcServer.forceShutdown();
              resolve();
            }, 2000);
            grpcServer.tryShutdown(() => {
              clearTimeout(force);
              resolve();
            });
          });
          await audit.close().catch((err: unknown) => log.error({ err }, "writing aggregated refusals to the audit log failed"));
          await store.close();
          log.info("controller stopped");
        })();
        return closing;
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
