/**
 * Starts a controller: opens the store, loads (or on first start creates) the
 * CA and the admin token, and wires the two halves of a controller together —
 * what every member runs (member/: the agent streams and the operator API on one
 * TLS port) and what only the leader runs (leader/: reconcile, failure detection,
 * the guard), started by a Leadership. Wiring only: the logic lives in those.
 */
import { monoMs } from "../shared/clock.js";
import { setIntervalClamped } from "../shared/timer.js";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadProtos } from "../shared/proto.js";
import { allocatorInUse } from "../shared/malloc.js";
import { createLogger, type Logger } from "../shared/log/logger.js";
import { routeGrpcLogs } from "../shared/log/grpc-log.js";
import type { LevelWithSilent } from "pino";
import { formatHostPort, type HostPort } from "../shared/addr.js";
import { createServerCert, CONTROLLER_TLS_NAME, DEFAULT_HOST_CERT_TTL_MS, grpcServerCredentials, TLS_HANDSHAKE_TIMEOUT_MS, type CertAndKey } from "../shared/tls/pki.js";
import { CaKeeper } from "./pki/ca-keeper.js";
import { servingCa } from "./pki/ca-record.js";
import { caHandlers } from "./member/api/ca-handlers.js";
import { trustBundle } from "./member/agent-stream/trust.js";
import { serveMetrics, type MetricsServer } from "../shared/metrics/server.js";
import { openStore, type EtcdTlsPaths } from "./store/open.js";
import type { Quarantined } from "./store/record.js";
import type { Store } from "./store/store.js";
import { EventLog } from "./events/event-log.js";
import { TokenService } from "./auth/token-service.js";
import { HostRegistry } from "./hosts/registry.js";
import { hostStatus } from "./hosts/host.js";
import { DEFAULT_GUARD_SHARE } from "./failure/guard.js";
import { GuardStore } from "./failure/guard-state.js";
import { FailoverGuard } from "./failure/failover-guard.js";
import { liveHeard, livenessInput, localHeard, localLiveness, mergeLiveness, reportEveryMs, type Heard } from "./failure/liveness.js";
import { LivenessReports } from "./leader/liveness-reports.js";
import type { Usage__Output } from "../shared/gen/berth/v1/Usage.js";
import { LivenessReporter } from "./member/liveness-reporter.js";
import { watchStalls } from "./member/stall-watch.js";
import { AssignmentPusher } from "./member/assignments.js";
import { closeStreamsOfDownHosts, closeStreamsOfRemovedHosts } from "./member/host-changes.js";
import { RevokedSerials } from "./pki/revoked.js";
import { hostRemoveHandlers } from "./member/api/host-remove.js";
import { ArtifactStore } from "./artifacts/artifact-store.js";
import { ServiceState } from "./services/state.js";
import { instanceId } from "./services/records.js";
import { effectiveState } from "./services/effective-state.js";
import { ReconcileLoop } from "./reconcile/loop.js";
import { AuditLog } from "./audit/audit-log.js";
import { ControllerMetrics } from "./metrics.js";
import { agentServiceHandlers } from "./member/api/agent-service.js";
import { LbAppliedBook, lbHandlers } from "./member/api/lb-handlers.js";
import { LbShare } from "./member/lb-share.js";
import { backMessage, watchGoneMembers } from "./member/gone-members.js";
import type { LbApplied__Output } from "../shared/gen/berth/v1/LbApplied.js";
import { secretHandlers } from "./member/api/secret-handlers.js";
import { loadSecretKey } from "./secrets/crypto.js";
import { SecretStore } from "./secrets/secret-store.js";
import { operatorServiceHandlers } from "./member/api/operator-service.js";
import { serviceHandlers, serviceOrNotFound } from "./member/api/service-handlers.js";
import { rolloutHandlers } from "./member/api/rollout-handlers.js";
import { LogRouter } from "./member/api/log-router.js";
import { ExecRouter } from "./member/api/exec-router.js";
import { auditOrphanedExecs, execHandlers } from "./member/api/exec-handler.js";
import { requestArrivalInterceptor } from "./member/api/request-deadline.js";
import { bindGrpcServer, ListenError, newGrpcServer, shutdownGrpcServer } from "./member/grpc-server.js";
import { frontInterceptor, HaproxyFront, type FrontKind } from "./member/front.js";
import { ElectedLeader, SoleLeader, type Leadership } from "./leader/leadership.js";
import { EtcdStore } from "./store/etcd-store.js";
import { Election } from "./store/election.js";
import { EtcdGroup, LEADER_KEY, LeaderRecordSchema, type GroupView, type MemberRecord } from "./member/group.js";
import { controllersHandlers } from "./member/api/controllers-handler.js";
import { ObservedShare } from "./member/observed-share.js";
import { WaitShare } from "./member/wait-share.js";
import type { ObservedInstance } from "./services/records.js";
import { decodeRecord, encodeRecord } from "./store/record.js";
import { serveUi, type UiServer } from "./ui/ui-server.js";
import { GitopsSources } from "./gitops/sources.js";
import { GitopsRunner } from "./gitops/runner.js";
import { gitopsHandlers } from "./member/api/gitops-handlers.js";
import { serveHooks, type HooksServer } from "./member/hooks-server.js";
import { startLeading, type LeaderRun } from "./leader/leader.js";
import { hostWarnMs, watchExpiry, type WatchedCert } from "./pki/expiry-watch.js";
import { certFacts } from "../shared/tls/cert-life.js";
import { createMemberCert } from "../shared/tls/pki.js";
import { grpcClientCredentials } from "../shared/tls/client-credentials.js";
import * as grpc from "@grpc/grpc-js";
import { MemberPeers } from "./member/peers.js";
import { ArtifactReplicas, CATCH_UP_EVERY_MS, storedDigests } from "./artifacts/replicas.js";
import { memberServiceHandlers } from "./member/api/member-service.js";
import type { RelayDeps } from "./member/api/relay.js";
import { startGraceLeftMs } from "./failure/comeback-grace.js";
import { graceAfterOutageMs, moveAgentsAway, outageEvents, StoreMonitor } from "./member/store-monitor.js";
import type { StoreHealthChange, StoreHealthState } from "./store/store-health.js";

export { IDLE_CONNECTION_MS, ListenError } from "./member/grpc-server.js";

export interface ControllerOptions {
  dataDir: string;
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
  /** Where to serve GitOps webhooks (POST /hooks/gitops/NAME) over plain HTTP; absent or null: not served. */
  hooksAddr?: HostPort | null;
  /** A connection whose TLS handshake is not done this long after it opened is dropped. @default TLS_HANDSHAKE_TIMEOUT_MS (10 s) */
  handshakeTimeoutMs?: number;
  /**
   * Who ends TLS and HTTP/2 on `listen`: this process (absent), or HAProxy, a child of it
   * that carries the calls here over a Unix socket (member/front.ts): less memory an agent.
   */
  front?: FrontKind;
  /** The HAProxy binary for `front`. @default "haproxy" on PATH */
  frontBin?: string;
  /** A connection with no call open for this long is closed (GOAWAY); one with a call open never is. @default IDLE_CONNECTION_MS (30 s) */
  idleConnectionMs?: number;
  /** A unary or server-streaming call whose request has not fully arrived in this long is ended. @default REQUEST_ARRIVAL_MS (30 s) */
  requestArrivalMs?: number;
  /**
   * The store to use instead of a LevelDB in dataDir: a group's shared store. It is
   * the caller's: close() leaves it open. @default LevelDB in <dataDir>/store
   */
  store?: Store;
  /**
   * Where the state lives when no `store` is given (controller/store/open.ts): a
   * directory (LevelDB) or `etcd://host:port,…`. @default <dataDir>/store
   */
  storeUrl?: string;
  /** TLS files for an etcd:// storeUrl. */
  etcdTls?: EtcdTlsPaths;
  /**
   * The key secrets are encrypted with (32 bytes, or 64 hex characters); a controller
   * group shares one. @default <dataDir>/secrets.key, made on first start (mode 0600)
   */
  secretsKeyFile?: string;
  /** Lifetime of the host certificates it issues (join, renewal); agents renew at about 2/3 of it. @default DEFAULT_HOST_CERT_TTL_MS (30 days) */
  certTtlMs?: number;
  /** Who decides. @default SoleLeader: this controller, at once and for good */
  leadership?: Leadership;
  /**
   * This member's name in a controller group: set, it writes liveness reports of
   * the agent streams it holds, and reads the other members' when it leads
   * (failure/liveness.ts). Unset: a lone controller, which hears every host itself.
   */
  member?: string;
  /**
   * The environment this controller (group) serves, e.g. "prod": specs rendered for
   * another (`berth apply --env staging`) are refused (services/environment.ts).
   * Every member of a group is given the same. @default "" (any)
   */
  environment?: string;
  /** Where to serve the web console over HTTPS; absent or null: not served (the CLI's default is 127.0.0.1:7421). */
  uiAddr?: HostPort | null;
  /** The built console page. @default dist/ui */
  uiStaticDir?: string;
  /**
   * The host:port other members, agents and operators reach this member at, as
   * `berth controllers` shows it. @default the address bound
   */
  advertise?: HostPort;
  /**
   * The leader election's lease in a group on etcd: a leader killed without a word is
   * succeeded within it. @default 3000
   */
  leaseMs?: number;
}

export interface ControllerHandle {
  /** The address actually bound (port 0 → the chosen port). */
  address: HostPort;
  /** The CAs a client trusts to reach this member now: both during a CA rotation, the new one once it is over. */
  readonly caPem: string;
  /** What join tokens pin: the CA this member serves with. */
  readonly caFingerprint: string;
  /** Set only on the first start, when the bootstrap admin token is made. */
  adminToken?: string;
  /** Where /metrics is served, when it is. */
  metricsAddress?: HostPort;
  /** Where the web console is served, when it is. */
  uiAddress?: HostPort;
  /** A one-time sign-in code for the console, standing for `token` (`berth dev` prints a link with one). */
  uiSignInCode?: (token: string) => string;
  /** Where GitOps webhooks are served, when they are. */
  hooksAddress?: HostPort;
  store: Store;
  close(): Promise<void>;
}

export async function startController(opts: ControllerOptions): Promise<ControllerHandle> {
  const now = opts.now ?? Date.now;
  const mono = opts.mono ?? monoMs;
  const log = opts.logger ?? createLogger("controller", opts.logLevel ?? "info");
  routeGrpcLogs(log);
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 1000;
  const ttlMs = opts.ttlMs ?? 5000;
  const certTtlMs = opts.certTtlMs ?? DEFAULT_HOST_CERT_TTL_MS;
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const ownStore = !opts.store;
  // Opened before anything listens: a store that cannot be reached fails the start.
  const store = opts.store ?? (await openStore(opts.storeUrl ?? join(opts.dataDir, "store"), opts.etcdTls ? { etcdTls: opts.etcdTls } : {}));
  // Follows of the store, undone on close or a failed start (the store may be a group's, and stay open).
  const stops: (() => void | Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const f of stops.splice(0).reverse()) await f();
  };
  try {
    // The CA record, followed in the store: a rotation started or finished through any member lands here.
    const keeper = await CaKeeper.load(store, log);
    await keeper.follow();
    stops.push(() => keeper.close());
    const fingerprint = keeper.servingFingerprint();
    // 0600: root copies it to where clients need it; nothing under the data dir is for other users.
    // The trust bundle: both CAs during a rotation (controller/pki/ca-record.ts).
    const writeCaFile = (): Promise<void> => writeFile(join(opts.dataDir, "ca.crt"), keeper.bundlePem() + "\n", { mode: 0o600 });
    await writeCaFile();

    const events = new EventLog(store, now);
    await events.init();
    const reportQuarantined = async (q: Quarantined, consequence: string): Promise<void> => {
      const message = `stored record ${q.key} is unusable and left alone: ${q.reason}; ${consequence}`;
      log.error({ key: q.key, reason: q.reason }, "record quarantined");
      await events.append({ type: "record.quarantined", message });
    };
    const tokens = new TokenService(store, now, () => keeper.servingFingerprint());
    await tokens.start();
    stops.push(() => tokens.stop());
    const registry = new HostRegistry(store, events);
    const state = new ServiceState(store, events);
    // A record that fails validation is quarantined, never thrown: one bad record
    // must not keep the controller down (the reconcile loop reports a service's own).
    for (const q of await registry.load()) await reportQuarantined(q, "its host must join again (berth agent install)");
    await state.load();
    // Every member writes these records (an apply through any member, the leader's
    // placements and host judgements): the caches follow the store from the revision
    // they loaded at, so what another member writes lands here too.
    await registry.follow();
    stops.push(() => registry.unfollow());
    await state.follow();
    stops.push(() => state.unfollow());
    const secretsKey = await loadSecretKey(opts.secretsKeyFile ?? join(opts.dataDir, "secrets.key"), { create: opts.secretsKeyFile === undefined });
    const secrets = new SecretStore(store, secretsKey, log);
    await secrets.load();
    stops.push(() => secrets.close());
    const gitops = new GitopsSources(store, log);
    await gitops.load();
    stops.push(() => gitops.close());
    const assignments = new AssignmentPusher(state, registry, secrets);
    // A secret's new value changes no record, yet the hosts that use it need it.
    secrets.onChange = () => assignments.secretsChanged();
    stops.push(() => assignments.close());
    stops.push(closeStreamsOfDownHosts(registry, log));
    stops.push(closeStreamsOfRemovedHosts(registry, log));
    const revoked = new RevokedSerials(store);
    await revoked.start();
    stops.push(() => revoked.stop());
    const artifacts = new ArtifactStore(join(opts.dataDir, "artifacts"));
    await artifacts.init();
    const artifactsKnown = new Set((await readdir(join(opts.dataDir, "artifacts"))).filter((f) => /^[0-9a-f]{64}$/.test(f)));
    const guardStore = await GuardStore.load(store, events);
    if (guardStore.quarantined) await reportQuarantined(guardStore.quarantined, "the guard starts unpaused");
    await guardStore.follow();
    stops.push(() => guardStore.unfollow());
    // Time this process did not run is no host's silence (shared/stalls.ts): its heartbeats
    // waited in the sockets. Credited up to a TTL, so a host really lost is down within two.
    const stalls = watchStalls({ mono, keepMs: 2 * ttlMs, onStall: (ms) => log.info({ stallMs: Math.round(ms) }, "this process stalled: the time is not counted as its hosts' silence") });
    stops.push(() => stalls.stop());
    const stalledSince = (t: number): number => stalls.stalledSince(t, ttlMs);
    // After a stall, two heartbeats (at least a second) for this member's view to catch up before it sends endpoint lists.
    const viewSettleMs = Math.max(1000, 2 * heartbeatIntervalMs);
    const viewSettlingMs = (): number => (stalls.stalledSince(mono() - viewSettleMs, viewSettleMs) > 0 ? viewSettleMs : 0);
    // In a group, heartbeats other members receive reach this one through their liveness reports.
    const reportMs = reportEveryMs(ttlMs);
    const reports = opts.member === undefined ? undefined : new LivenessReports({ store, self: opts.member, mono, log });
    if (reports) {
      await reports.follow();
      stops.push(() => reports.close());
    }
    // A member that stops reporting (cut off alone) holds agents that reconnect elsewhere only after their watchdog (a TTL): its hosts get that long more (failure/liveness.ts SilentMemberGrace).
    const silentGrace = { silentAfterMs: Math.round(1.5 * reportMs), extraMs: ttlMs + reportMs, ttlMs };
    const heard = (): Heard => (reports ? mergeLiveness(localHeard(registry), reports.received(), { ...silentGrace, nowMono: mono() }) : liveHeard(registry));
    const guard = new FailoverGuard({
      store: guardStore,
      hosts: () => registry.all(),
      heard,
      reportLagMs: reports ? reportMs : 0,
      now,
      mono,
      heartbeatIntervalMs,
      cfg: { share: opts.guardShare ?? DEFAULT_GUARD_SHARE, ttlMs, minHosts: 3 },
      log,
    });
    // In a group on etcd, this member's view of its store (member/store-monitor.ts), started once it is registered.
    let storeMonitor: StoreMonitor | undefined;
    /** When the store last came back after an outage (mono): a term starting soon after gives longer grace. */
    let storeBackMono: number | undefined;
    const storeUnavailable = (): string | undefined => {
      const st = storeMonitor?.state();
      return st && !st.ok ? `controller member ${selfId()} cannot reach the store since ${new Date(st.sinceMs).toISOString()}: ${st.error}` : undefined;
    };
    // Reset when this member starts leading: instance ages and fencing waits count from then.
    let leadingSinceMono = mono();
    // The start as a wall time measured back from now on the monotonic clock, like heartbeat ages (loop.ts hostView).
    const loop = new ReconcileLoop({ state, registry, log, now, mono, removedHosts: () => revoked.hosts(), failover: () => ({ paused: guard.verdict().paused, controllerStartedAtMs: now() - (mono() - leadingSinceMono) }) });
    const logs = new LogRouter();
    // Set once the serving certificate is made (below): until then only the hosts' and the CA's are watched.
    const serving: { facts?: ReturnType<typeof certFacts> } = {};
    const watchedCerts = (): WatchedCert[] => [
      ...registry
        .all()
        .filter((h) => h.certNotAfterMs !== undefined)
        // Until the agent confirms a renewal, the certificate it surely holds is the one before (renew.ts): that one's expiry counts.
        .map((h) =>
          h.certUnconfirmed && h.prevCertSerial && h.prevCertNotAfterMs !== undefined
            ? { kind: "host" as const, name: h.id, serial: h.prevCertSerial, notAfterMs: h.prevCertNotAfterMs, warnMs: hostWarnMs(certTtlMs) }
            : { kind: "host" as const, name: h.id, serial: h.certSerial, notAfterMs: h.certNotAfterMs!, warnMs: hostWarnMs(certTtlMs) },
        ),
      ...(serving.facts ? [{ kind: "server" as const, name: "controller", serial: serving.facts.serial, notAfterMs: serving.facts.notAfterMs }] : []),
      ...keeper.trusted().map((pem) => {
        const f = certFacts(pem);
        return { kind: "ca" as const, name: "controller", serial: f.serial, notAfterMs: f.notAfterMs };
      }),
    ];
    const metrics = new ControllerMetrics(
      {
        hosts: () => registry.all().map((h) => ({ status: hostStatus(h), connected: registry.live.get(h.id)?.disconnect !== undefined })),
        instances: () => state.allInstances().map((i) => ({ service: i.service, state: effectiveState(i, registry.get(i.hostId), loop.observed).state })),
        services: () => state.allServices().map((s) => ({ name: s.name, instances: s.spec.instances })),
        // `waits` is set before the first scrape (below, once the group's share follows the store).
        waiting: () => {
          const t = now();
          return state.allInstances().flatMap((i) => {
            const w = waits.wait(i, t);
            return w ? [{ service: i.service, kind: w.kind }] : [];
          });
        },
        failoverPaused: () => guard.verdict().paused,
        rolloutsInProgress: () => state.allRollouts().filter((r) => r.status !== "succeeded" && r.status !== "failed").length,
        certificates: watchedCerts,
        storeAvailable: () => storeMonitor?.state().ok ?? true,
        // Read at scrape time, when leadership is set (below).
        leader: () => leadership.isLeader(),
        etcdEndpoints: () =>
          store instanceof EtcdStore && store.endpointPolicies
            ? [...store.endpointPolicies.snapshot()].map(([host, c]) => ({ endpoint: host.replace(/^https?:\/\//, ""), ...c }))
            : [],
      },
      { heartbeatIntervalMs },
    );
    loop.onCommitted((evs) => metrics.reconciled(evs));
    // In a group, what hosts report reaches every member (the leader decides from it), and
    // views on a member that does not lead follow the leader's decisions.
    const observedShare =
      opts.member === undefined
        ? undefined
        : new ObservedShare({
            store,
            observed: loop.observed,
            holds: (h) => registry.live.get(h)?.send !== undefined,
            onChange: () => {
              loop.kick();
              loop.notifyViews();
            },
            log,
          });
    if (observedShare) {
      await observedShare.follow();
      stops.push(() => observedShare.close());
      stops.push(state.onChange(() => loop.notifyViews()));
    }
    // Why instances wait: the leader's loop says it, and shares it with the members that do not lead.
    const waitShare = opts.member === undefined ? undefined : new WaitShare({ store, loop, onChange: () => loop.notifyViews(), log });
    if (waitShare) {
      await waitShare.follow();
      stops.push(() => waitShare.close());
    }
    const waits = waitShare ?? loop;
    // A host removed through another member: its instance is replaced by this loop when it leads.
    stops.push(registry.onChange((_prev, next) => (next ? undefined : loop.kick())));
    const execs = new ExecRouter(undefined, now());

    let adminToken: string | undefined;
    if (!(await tokens.hasAny())) {
      const minted = await tokens.create({ role: "admin", description: "bootstrap admin token" });
      adminToken = minted.token;
      await writeFile(join(opts.dataDir, "admin.token"), adminToken + "\n", { mode: 0o600 });
      await events.append({ type: "token.created", message: `bootstrap admin token ${minted.record.id} created` });
    }

    // A member of a group on etcd campaigns for leadership; a lone controller leads.
    const election = opts.member !== undefined && store instanceof EtcdStore && !opts.leadership ? new Election({ store, memberId: opts.member, ttlMs: opts.leaseMs ?? 3000 }) : undefined;
    const leadership: Leadership = opts.leadership ?? (election ? new ElectedLeader({ election, log, now }) : new SoleLeader(now));
    // Which member holds each host's stream: this one's own, the others' from their reports.
    const freshMs = 3 * reportMs;
    const selfId = (): string => opts.member ?? self.id;
    const memberOf = (hostId: string): string => (registry.live.get(hostId)?.send ? selfId() : (reports?.holders(freshMs).byHost.get(hostId)?.member ?? ""));
    const heardElsewhere = (hostId: string): { lastHeartbeatMs: number; usage: Usage__Output | null } | undefined => {
      const held = reports?.holders(freshMs).byHost.get(hostId);
      return held ? { lastHeartbeatMs: now() - Math.max(0, mono() - held.heardMono), usage: held.usage ?? null } : undefined;
    };
    // Another member's count leaves out the hosts whose stream is here now: a killed member's last report names them until it ages out.
    const agentsOf = (member: string): number => {
      if (member === selfId()) return [...registry.live.values()].filter((l) => l.send).length;
      const h = reports?.holders(freshMs);
      if (!h) return 0;
      let n = 0;
      for (const [id, held] of h.byHost) if (held.member === member && !registry.live.get(id)?.send) n++;
      return n;
    };
    // Filled in once bound: the address is known then.
    const self: MemberRecord = { id: opts.member ?? "", address: "", startedAtMs: now() };
    let group: GroupView | undefined;
    let term: LeaderRun | undefined;
    // In a group: the other members, called over TLS with this member's own certificate, to relay
    // logs and exec to the member holding a host's stream and to copy artifacts between members.
    // Its certificate comes from the CA signing now and it trusts the CA bundle, both anew when the CA record changes (a rotation).
    let memberCreds: grpc.ChannelCredentials | undefined;
    const issueMemberCreds = async (): Promise<grpc.ChannelCredentials> => (memberCreds = grpcClientCredentials(keeper.bundlePem(), await createMemberCert(keeper.signer, selfId())));
    if (election) {
      await issueMemberCreds();
      stops.push(keeper.onChange(() => void issueMemberCreds().catch((err: unknown) => log.warn({ err }, "issuing this member's certificate after a CA change failed"))));
    }
    const peers = election ? new MemberPeers({ self: selfId(), members: () => group?.members() ?? Promise.resolve([]), credentials: () => memberCreds ?? grpc.credentials.createInsecure(), log }) : undefined;
    if (peers) stops.push(() => peers.close());
    const replicas = peers ? new ArtifactReplicas({ artifacts, known: artifactsKnown, selfAddress: () => self.address, others: () => peers.others(), client: (a) => peers.member(a), log }) : undefined;
    const routeOf = (hostId: string): string | undefined => {
      const held = reports?.holders(freshMs).byHost.get(hostId);
      return held ? `${held.member}@${held.connectedAtMs ?? ""}` : undefined;
    };
    const relay: RelayDeps | undefined = peers ? { self: selfId(), holderOf: memberOf, routeOf, addressOf: (id) => peers.addressOf(id), operatorOwn: (a) => peers.operatorOwn(a), trustedCas: () => keeper.trusted(), now } : undefined;
    const protos = loadProtos();
    const grpcServer = newGrpcServer(opts, [...(opts.front ? [frontInterceptor()] : []), metrics.grpcInterceptor, requestArrivalInterceptor(opts.requestArrivalMs)]);
    grpcServer.addService(
      protos.agent.berth.v1.AgentService.service,
      agentServiceHandlers({ registry, tokens, ca: keeper.signer, trust: keeper, certTtlMs, revoked, log, now, mono, heartbeatIntervalMs, ttlMs, onLiveness: () => term?.judge(), loop, state, assignments, storeUnavailable, ...(observedShare ? { publishObserved: (o: ObservedInstance) => observedShare.publish(o) } : {}), artifacts, ...(replicas ? { ensureArtifact: (sha: string) => replicas.ensure(sha) } : {}), logs, events, metrics, execs, readWindow: opts.front !== undefined }),
    );
    if (replicas) grpcServer.addService(protos.operator.berth.v1.MemberService.service, memberServiceHandlers({ trustedCas: () => keeper.trusted(), now, artifacts, replicas, log }));
    const serviceOf = (hostId: string): string => {
      const a = state.hostAssignments().get(hostId);
      return a ? instanceId(a.inst.service, a.inst.slot) : "";
    };
    const leftOn = (hostId: string): string[] => state.leftCopiesByHost().get(hostId) ?? [];
    const failoverState = (): { paused: boolean; reason: string; since_ms: number } => {
      // Cut off from the store, this member hears of no other member's hosts: every host looks
      // silent, and the verdict would cry a mass failure that is this member's own. Say what was stored.
      if (storeUnavailable()) return { paused: guard.state.paused, reason: guard.state.paused ? guard.state.reason : "", since_ms: guard.state.sinceMs };
      const v = guard.verdict();
      return { paused: v.paused, reason: v.paused ? v.reason : "", since_ms: guard.state.sinceMs };
    };
    const resumeFailover = async (actor: string): Promise<ReturnType<typeof failoverState>> => {
      await guard.resume(actor);
      loop.kick();
      return failoverState();
    };
    const audit = new AuditLog(store, now);
    await audit.init();
    audit.start((err) => log.error({ err }, "writing aggregated refusals to the audit log failed"));
    const orphaned = await auditOrphanedExecs(audit, now(), relay?.self);
    if (orphaned) log.warn({ sessions: orphaned }, "exec sessions cut by the last controller stop are recorded as ended");
    const storeState = (): StoreHealthState => storeMonitor?.state() ?? { ok: true, sinceMs: 0 };
    const opDeps = { registry, tokens, events, store, log, now, serviceOf, leftOn, memberOf, heardElsewhere, failoverState, resumeFailover, audit, environment: opts.environment ?? "", storeState };
    const lbs = new LbAppliedBook(now);
    // In a group, every member shows what each lb reported to any of them.
    const lbShare = opts.member === undefined ? undefined : new LbShare({ store, book: lbs, now, log });
    if (lbShare) {
      await lbShare.follow();
      stops.push(() => lbShare.close());
    }
    const operatorHandlers = {
      ...operatorServiceHandlers(opDeps),
      ...hostRemoveHandlers({ ...opDeps, revoked, kick: () => loop.kick() }),
      ...caHandlers({ ...opDeps, keeper }),
      ...serviceHandlers({ ...opDeps, state, loop, waits, artifacts, artifactsKnown, logs, secrets, lbs, viewSettlingMs, owners: () => gitops.owners(), relay, replicas }),
      ...gitopsHandlers({ ...opDeps, gitops, secrets }),
      ...secretHandlers({ ...opDeps, state, loop, secrets }),
      ...lbHandlers({ ...opDeps, state, lbs, ...(lbShare ? { share: (rec: LbApplied__Output) => lbShare.publish(rec) } : {}) }),
      ...rolloutHandlers({
        ...opDeps,
        state,
        loop,
        waits,
        service: (name) => serviceOrNotFound(state, name),
      }),
      ...execHandlers({ ...opDeps, state, execs, relay }),
      ...controllersHandlers({
        ...opDeps,
        get self() {
          return self;
        },
        get group() {
          return group;
        },
        leadership,
        agentsOf,
      }),
    };
    grpcServer.addService(protos.operator.berth.v1.OperatorService.service, operatorHandlers);
    const ips = [...new Set([opts.listen.host, ...(opts.uiAddr ? [opts.uiAddr.host] : [])])].filter((h) => h !== "0.0.0.0" && h !== "::");
    const makeServerCert = (issuer: CertAndKey): Promise<CertAndKey> => createServerCert(issuer, { dnsNames: [CONTROLLER_TLS_NAME, "localhost"], ips: ips.filter((ip) => /^[\d.:a-fA-F]+$/.test(ip)) });
    let servingIssuer = servingCa(keeper.record);
    let serverCert = await makeServerCert(servingIssuer);
    serving.facts = certFacts(serverCert.certPem);
    const creds = grpcServerCredentials(keeper.bundlePem(), serverCert.certPem, serverCert.keyPem, { handshakeTimeoutMs: opts.handshakeTimeoutMs, issuerPem: servingIssuer.certPem });
    // A CA rotation's steps, from the store (any member may have written them): the
    // listening port trusts the new bundle for the next handshakes and, once the old
    // CA is retired, serves a certificate of the new one; the agents this member
    // holds are told what to trust (and to renew, while the rotation waits for them).
    // In order, one at a time: a serving certificate takes a moment to make.
    let tlsApplied: Promise<void> = Promise.resolve();
    // What the port trusts and serves now: the handle's caPem (a client made from it reaches this member).
    let appliedBundlePem = keeper.bundlePem();
    // Set once the console listens (below); the CA steps above change its certificate too.
    let ui: UiServer | undefined;
    // --front: HAProxy on the port, this process on its socket (made at the bind below).
    let front: HaproxyFront | undefined;
    stops.push(
      keeper.onChange(() => {
        tlsApplied = tlsApplied
          .then(async () => {
            const issuer = servingCa(keeper.record);
            if (issuer.certPem !== servingIssuer.certPem) {
              serverCert = await makeServerCert(issuer);
              servingIssuer = issuer;
              serving.facts = certFacts(serverCert.certPem);
              ui?.setCertificate(serverCert.certPem, serverCert.keyPem);
            }
            appliedBundlePem = keeper.bundlePem();
            creds.update(appliedBundlePem, serverCert.certPem, serverCert.keyPem, servingIssuer.certPem);
            await front?.update({ caPem: appliedBundlePem, certPem: serverCert.certPem, keyPem: serverCert.keyPem, issuerPem: servingIssuer.certPem });
            await writeCaFile();
            const bundle = trustBundle({ ca: keeper.signer, trust: keeper });
            for (const l of registry.live.values()) l.send?.(bundle);
            log.info({ phase: keeper.record.rotation ? "rotating" : "idle", ca: keeper.servingFingerprint().slice(0, 16), signing: keeper.signingFingerprint().slice(0, 16) }, "CA record applied");
          })
          .catch((err: unknown) => log.error({ err }, "applying the CA record failed"));
      }),
    );
    // Everything started so far keeps the process alive: a controller that cannot
    // listen must stop it all and fail, not print the error and linger without a port.
    const abortStart = async (): Promise<void> => {
      await front?.stop();
      grpcServer.forceShutdown();
      await audit.close().catch(() => undefined);
    };
    const address = await (async (): Promise<HostPort> => {
      if (!opts.front) return bindGrpcServer(grpcServer, opts.listen, creds);
      // Behind the front: this process serves only its socket (the data dir's, 0700), HAProxy the port.
      front = await HaproxyFront.prepare({ dataDir: opts.dataDir, listen: opts.listen, tls: { caPem: appliedBundlePem, certPem: serverCert.certPem, keyPem: serverCert.keyPem, issuerPem: servingIssuer.certPem }, handshakeTimeoutMs: opts.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS, log, ...(opts.frontBin ? { bin: opts.frontBin } : {}) });
      const socket = front.socket;
      await new Promise<void>((resolve, reject) => grpcServer.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(new ListenError(socket, err)) : resolve())));
      await front.start();
      return front.listen;
    })().catch(async (err: unknown) => {
      await abortStart();
      throw err;
    });
    // The start's grace (opts.graceMs) runs from here: a term begun later gets what is left of it, at least a TTL.
    const listeningMono = mono();
    let metricsServer: MetricsServer | undefined;
    let hooksServer: HooksServer | undefined;
    try {
      if (opts.metricsAddr) metricsServer = await serveMetrics(metrics.registry, opts.metricsAddr);
      if (opts.hooksAddr) hooksServer = await serveHooks({ gitops, secrets, events, log, now }, opts.hooksAddr);
    } catch (err) {
      await metricsServer?.close();
      await abortStart();
      throw err;
    }
    if (opts.uiAddr) {
      try {
        // The same handlers the gRPC API serves: the console is another door to them, not a second implementation.
        ui = await serveUi({
          addr: opts.uiAddr,
          certPem: serverCert.certPem,
          keyPem: serverCert.keyPem,
          handlers: operatorHandlers,
          log,
          now,
          audit,
          sessions: { open: async (token, peer) => (await tokens.openSession(token, peer)).token, close: (token) => tokens.closeSession(token), parentOf: (token) => tokens.sessionParent(token) },
          // A stream held here: its own usage; another member's: as that member reported it (hostToWire reads the same).
          usage: () =>
            new Map(
              registry.all().map((h) => {
                const live = registry.live.get(h.id);
                return [h.id, live?.send ? live.usage : (heardElsewhere(h.id)?.usage ?? live?.usage ?? null)];
              }),
            ),
          staticDir: opts.uiStaticDir,
          environment: opts.environment ?? "",
          memberClient: peers ? (address) => peers.operator(address) : undefined,
        });
      } catch (err) {
        await metricsServer?.close();
        await abortStart();
        throw err;
      }
    }
    self.address = formatHostPort(opts.advertise ?? address);
    if (self.id === "") self.id = self.address;
    // In a group, which member: the address alone is one of several.
    await events.append({ type: "controller.started", message: `controller ${opts.member !== undefined ? `${self.id} ` : ""}started on ${formatHostPort(address)}` });
    if (election && store instanceof EtcdStore) {
      const g = new EtcdGroup({
        etcd: store,
        self,
        ttlMs,
        leader: () => election.leader(),
        log,
        now,
        onBack: (prior) => void events.append({ type: "controller.back", message: backMessage(prior) }).catch((err: unknown) => log.warn({ err }, "recording this member's return failed")),
      });
      await g.register();
      stops.push(async () => {
        // A clean stop is news as a loss is: `berth controllers` shows it as left, the events say when.
        if ((await g.close()) && storeState().ok) await events.append({ type: "controller.left", message: `controller ${self.id} at ${self.address} stopped cleanly and left the group; its agents reconnect to the other members` }).catch((err: unknown) => log.warn({ err }, "recording this member's leaving failed"));
      });
      group = g;
    }
    if (opts.member !== undefined && store instanceof EtcdStore) {
      // etcd's history of the store's revision key names the member that wrote each revision.
      if (store.writer === "") store.writer = selfId();
      let wasLeading = false;
      const onStoreChange = (c: StoreHealthChange): void => {
        switch (c.type) {
          case "lost": {
            wasLeading = leadership.isLeader();
            const moved = moveAgentsAway(registry.live, storeUnavailable() ?? `controller member ${selfId()} cannot reach the store`);
            log.error({ since: new Date(c.sinceMs).toISOString(), err: c.error, leading: wasLeading, agentsMoved: moved.length }, "the store is unreachable: this member decides nothing and sends its agents to other members");
            return;
          }
          case "restored": {
            storeBackMono = mono();
            log.info({ lostSince: new Date(c.lostSinceMs).toISOString(), downMs: c.atMs - c.lostSinceMs }, "the store is reachable again");
            const evs = outageEvents(selfId(), c, wasLeading);
            void (async () => {
              for (const ev of evs) await events.append(ev);
            })().catch((err: unknown) => log.warn({ err }, "recording the store's outage in the event log failed"));
            return;
          }
          default:
            return assertNever(c);
        }
      };
      const monitor = new StoreMonitor({ probe: (t) => store.probe(t), ttlMs, now, mono, log, onChange: onStoreChange });
      storeMonitor = monitor;
      tokens.storeUnavailable = () => monitor.state().ok === false;
      monitor.start();
      stops.push(() => monitor.close());
    }
    if (replicas) {
      // Uploads taken while this member was away reached only the members live then: fetch what the services name.
      let catching: Promise<unknown> | undefined;
      const catchUp = (): void => {
        if (catching) return;
        catching = replicas
          .catchUp(storedDigests(state.allServices()))
          .then((n) => n > 0 && log.info({ fetched: n }, "fetched the artifacts taken while this member was away"))
          .finally(() => (catching = undefined));
      };
      catchUp();
      const t = setIntervalClamped(catchUp, CATCH_UP_EVERY_MS);
      // Not awaited: a copy in flight ends with the peers' channels, closed after this.
      stops.push(() => clearInterval(t));
    }
    // Leading starts once agents can reach us: the term's grace period (one TTL, or
    // graceMs) runs from now, not from the process start — keys, the audit log and the
    // bind before this take seconds on a loaded host, and agents (whose reconnect backoff
    // is capped at TTL/2 for this) reconnecting within it must not be declared down and
    // have their instances replaced while they still run them.
    const groupNow = group;
    await leadership.run((ctx) => {
      leadingSinceMono = mono();
      // Who leads and since when, for `berth controllers` on the other members — a decision like any other, guarded.
      // In a group, an event says so, naming whom it follows: a failover of the control plane is news to operators.
      const writes = ctx.writes;
      if (writes) {
        void (async () => {
          const before = groupNow ? await store.get(LEADER_KEY).catch(() => undefined) : undefined;
          await writes.put(LEADER_KEY, encodeRecord({ member: selfId(), sinceMs: now() }));
          if (!groupNow) return;
          const prev = before ? decodeRecord(LeaderRecordSchema, before.value) : undefined;
          const after = prev?.ok && prev.rec.member !== selfId() ? ` (after ${prev.rec.member})` : "";
          await events.append({ type: "controller.leading", message: `controller ${selfId()} leads the group${after}` });
        })().catch((err: unknown) => log.warn({ err }, "recording the leadership failed"));
      }
      const run = startLeading({ registry, loop, guard, log, now, mono, ttlMs, graceMs: graceAfterOutageMs(startGraceLeftMs(opts.graceMs ?? ttlMs, ttlMs, listeningMono, mono()), ttlMs, storeMonitor?.state().ok === false ? mono() : storeBackMono, mono()), comebackSilentMs: 2 * heartbeatIntervalMs + (reports ? reportMs : 0), stalledSince, massShare: opts.guardShare ?? DEFAULT_GUARD_SHARE,
        ...(reports ? { comebackLiveness: () => livenessInput(registry.all(), mergeLiveness(localHeard(registry), reports.received())) } : {}),
        ...(groupNow ? { members: () => groupNow.members(), membersEveryMs: reportMs, ...(groupNow instanceof EtcdGroup ? { onMembers: watchGoneMembers({ group: groupNow, afterMs: 2 * ttlMs, mono, now, log, append: (ev) => events.append(ev) }) } : {}) } : {}),
        ...(reports ? { sources: (id: string) => ({ local: registry.live.get(id)?.send !== undefined, reports: reports.about(id) }) } : {}),
        liveness: () => (reports ? livenessInput(registry.all(), heard()) : localLiveness(registry)), via: ctx.writes, ...(ctx.leading ? { leading: ctx.leading } : {}),
        gitops: () => new GitopsRunner({ state, loop, registry, artifactsKnown, secrets, now, log: log.child({ component: "gitops" }), gitops, events, artifacts, dir: join(opts.dataDir, "gitops"), serves: opts.environment ?? "", via: ctx.writes }),
      });
      term = run;
      // The expiry warnings are the leader's, so a group warns once; checked hourly, or within a tenth of a short certificate life.
      // A CA rotation ends here: the leader retires the old CA once no host's certificate is signed by it (a compare-and-swap on the record, so a member that just lost the lead cannot write a stale step).
      let retiring = false;
      let again = false;
      const retireCheck = (): void => {
        if (!keeper.record.rotation) return;
        if (retiring) {
          again = true;
          return;
        }
        retiring = true;
        void keeper
          .retireIfDone(registry.all(), now())
          .then(async (done) => {
            if (done) {
              log.info({ ca: keeper.servingFingerprint().slice(0, 16) }, "CA rotation complete: the old CA is retired");
              await events.append({ type: "ca.rotated", message: `CA rotation complete: every host's certificate is signed by the new CA (sha256:${keeper.servingFingerprint().slice(0, 16)}…); the old one is retired` });
            }
          })
          .catch((err: unknown) => log.warn({ err }, "retiring the old CA failed; trying again on the next host change"))
          .finally(() => {
            retiring = false;
            if (again) {
              again = false;
              retireCheck();
            }
          });
      };
      const stopRetireOnHosts = registry.onChange(() => retireCheck());
      const stopRetireOnCa = keeper.onChange(() => retireCheck());
      retireCheck();
      // Each pass also prunes the revoked serials whose certificate has expired (their hosts' instances replaced).
      const stopWatch = watchExpiry({
        certs: watchedCerts,
        now,
        events,
        store,
        via: ctx.writes,
        log,
        also: async (nowMs) => {
          const gone = await revoked.prune(nowMs, new Set(state.allInstances().map((i) => i.hostId)), ctx.writes);
          if (gone.length) log.info({ serials: gone }, "revoked serials pruned: their certificates have expired");
        },
        checkEveryMs: Math.min(3_600_000, Math.max(1000, Math.floor(certTtlMs / 10))),
      });
      return {
        stop: async () => {
          stopWatch();
          stopRetireOnHosts();
          stopRetireOnCa();
          if (term === run) term = undefined;
          await run.stop();
        },
      };
    });
    if (opts.member !== undefined) {
      // A host whose stream ended here is reported (as left) until it is two TTLs old: past one it is judged anyway.
      const reporter = new LivenessReporter({ store, registry, member: opts.member, mono, now, reportMs, keepLeftMs: 2 * ttlMs, stalledSince, log });
      reporter.start();
      stops.push(() => reporter.close());
    }
    log.info({ addr: formatHostPort(address), metrics: metricsServer ? formatHostPort(metricsServer.address) : "off", ui: ui ? formatHostPort(ui.address) : "off", hooks: hooksServer ? formatHostPort(hooksServer.address) : "off", hosts: registry.all().length, ca: fingerprint.slice(0, 16), malloc: allocatorInUse() }, "controller started");

    let closing: Promise<void> | undefined;
    return {
      address,
      get caPem() {
        return appliedBundlePem;
      },
      get caFingerprint() {
        return keeper.fingerprintOf(servingIssuer.certPem);
      },
      adminToken,
      metricsAddress: metricsServer?.address,
      uiAddress: ui?.address,
      uiSignInCode: ui ? (token) => ui.signInCode(token) : undefined,
      hooksAddress: hooksServer?.address,
      store,
      close() {
        closing ??= (async () => {
          await metricsServer?.close();
          await ui?.close();
          await hooksServer?.close();
          await leadership.close();
          await stopAll();
          for (const l of registry.live.values()) l.disconnect?.("controller shutting down");
          await shutdownGrpcServer(grpcServer);
          await front?.stop();
          await audit.close().catch((err: unknown) => log.error({ err }, "writing aggregated refusals to the audit log failed"));
          if (ownStore) await store.close();
          log.info("controller stopped");
        })();
        return closing;
      },
    };
  } catch (err) {
    await stopAll();
    if (ownStore) await store.close();
    throw err;
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
