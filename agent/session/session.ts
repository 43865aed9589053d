/**
 * The agent's side of the controller: joins once with a token, then keeps one
 * mutual-TLS stream open — Hello, heartbeats at the controller's cadence — and
 * reconnects with jittered, capped exponential backoff whenever it breaks.
 *
 * A controller group has several members (--controller a:7420,b:7420,c:7420):
 * the agent keeps one stream to one member, and when it is lost, or the member
 * says MoveOn, dials the next in its own random order (shared/members.ts). The
 * identity is the same on every member (one CA, one store), so is what it runs.
 *
 * A stream that goes quiet (a cut link stalls TCP without an error) is detected
 * by the missing heartbeat acks, not by TCP: after one TTL without a word from
 * the controller the agent drops the stream and dials again.
 */
import * as grpc from "@grpc/grpc-js";
import { EventEmitter } from "node:events";
import type { Logger } from "../../shared/log/logger.js";
import { loadProtos } from "../../shared/proto.js";
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from "../../shared/backoff.js";
import { parseHostPort } from "../../shared/addr.js";
import { formatMemberList, MemberRotation, parseMemberList, reconnectDelayMs, refusedAtOnce } from "../../shared/members.js";
import { monoMs, type Clock } from "../../shared/clock.js";
import { parseToken } from "../../shared/token-format.js";
import type { Labels } from "../../shared/labels.js";
import type { HostFacts } from "../../shared/gen/berth/v1/HostFacts.js";
import type { Usage } from "../../shared/gen/berth/v1/Usage.js";
import type { AgentServiceClient } from "../../shared/gen/berth/v1/AgentService.js";
import type { AgentMessage } from "../../shared/gen/berth/v1/AgentMessage.js";
import type { ControllerMessage__Output } from "../../shared/gen/berth/v1/ControllerMessage.js";
import type { JoinResponse__Output } from "../../shared/gen/berth/v1/JoinResponse.js";
import type { Assignment__Output } from "../../shared/gen/berth/v1/Assignment.js";
import type { LogRequest__Output } from "../../shared/gen/berth/v1/LogRequest.js";
import type { LogAck__Output } from "../../shared/gen/berth/v1/LogAck.js";
import type { RunningInstance } from "../../shared/gen/berth/v1/RunningInstance.js";
import type { ArtifactChunk__Output } from "../../shared/gen/berth/v1/ArtifactChunk.js";
import { channelOptions, createKeyAndCsr, fetchServerCaPem, grpcClientCredentials } from "../../shared/tls/pki.js";
import { loadIdentity, saveIdentity, saveKey, saveRenewal, saveTrustBundle, type Identity } from "../identity.js";
import { CertRenewal, checkCaBundle, signedByNewest } from "./renewal.js";
import type { TrustBundle__Output } from "../../shared/gen/berth/v1/TrustBundle.js";
import { certFacts } from "../../shared/tls/cert-life.js";
import { CertificateExpiredError, HostRemovedError, REFUSAL_HOST_REMOVED, REFUSAL_KEY } from "./errors.js";
import { ReadWaiters } from "./read-past.js";
import { Outbound } from "./outbound.js";
import { StoreLossRound } from "./store-loss-round.js";
import { setIntervalClamped, setTimeoutClamped } from "../../shared/timer.js";
import { QuietClock } from "../../shared/stalls.js";

export interface SessionOptions {
  dataDir: string;
  /**
   * The controller's members, HOST:PORT each (parseMemberList); required to join,
   * and override the members joined with when given.
   */
  controllers?: readonly string[];
  /** Draws this agent's order of the members (shared/members.ts). @default Math.random */
  random?: () => number;
  /** A join token; needed only when the data dir holds no identity yet. */
  token?: string;
  labels: Labels;
  advertiseAddr?: string;
  log: Logger;
  facts: () => HostFacts;
  usage: () => Usage;
  backoff?: BackoffPolicy;
  /** Before the first Welcome says otherwise. @default 1000 */
  heartbeatIntervalMs?: number;
  /** What this host runs now (with epochs) and which artifacts it holds: sent in every Hello. */
  running?: () => RunningInstance[];
  artifacts?: () => string[];
  onAssignment?: (a: Assignment__Output) => void;
  onLogRequest?: (r: LogRequest__Output) => void;
  onLogCancel?: (requestId: number) => void;
  onLogAck?: (a: LogAck__Output) => void;
  /** exec_start, exec_input, exec_resize, exec_close (agent/exec/sessions.ts). */
  onExec?: (m: ControllerMessage__Output) => void;
  /** When the controller was last heard from before this process (persisted by the agent), on `mono`; 0: never. */
  initialContactMs?: number;
  /** The monotonic clock every interval here is measured on. @default monoMs */
  mono?: Clock;
  /** Wall clock, for certificate validity. @default Date.now */
  wall?: () => number;
  /**
   * Join again keeping the stored host id (`berth agent --rejoin`): for a host whose
   * certificate expired while its agent was off. Needs a join token.
   */
  rejoin?: boolean;
}

/** A refusal that retrying cannot fix (bad token, unknown host): the operator must act. */
export class JoinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JoinError";
  }
}

export interface SessionEvents {
  /** member: the controller member (HOST:PORT) this stream is with. */
  connected: [{ hostId: string; heartbeatIntervalMs: number; ttlMs: number; advertiseAddr: string; member: string }];
  disconnected: [{ reason: string; member: string }];
  heartbeatAck: [{ rttMs: number }];
  /** A renewed certificate is stored; the next connection uses it. */
  renewed: [{ serial: string; notAfterMs: number }];
  /** A new trust bundle (a CA rotation) is stored; the next connection uses it. */
  trustBundle: [{ caPem: string }];
  /** The session gave up for good (certificate expired, host removed): the agent must stop. */
  fatal: [Error];
}

const FATAL = new Set([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT]);

function grpcCode(err: unknown): grpc.status | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === "number" ? c : undefined;
}

function errText(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown } | null;
  return typeof e?.details === "string" && e.details ? e.details : typeof e?.message === "string" ? e.message : String(err);
}

/** How one stream ended; moveOn when the member sent the agent to another. */
interface StreamEnd {
  welcomed: boolean;
  reason: string;
  fatal: boolean;
  moveOn?: { preferred: string };
  /** The controller removed this host (`berth host remove`): why. */
  removed?: string;
}

export class AgentSession extends EventEmitter<SessionEvents> {
  private identity: Identity | undefined;
  /** One channel per member, made when first dialled. */
  private readonly clients = new Map<string, AgentServiceClient>();
  private rotation: MemberRotation | undefined;
  private credentials: grpc.ChannelCredentials | undefined;
  private call: grpc.ClientDuplexStream<AgentMessage, ControllerMessage__Output> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private heartbeatIntervalMs: number;
  private ttlMs = 5000;
  /** Monotonic clock of the last contact with the controller (for self-fencing; see lastContactMs): an NTP step never moves it. */
  private lastContact: number;
  /** Members that sent this agent away because they cannot reach the store (store-loss-round.ts). */
  private readonly storeLoss = new StoreLossRound();
  private readonly mono: Clock;
  /** Sends on the current stream once it is welcomed; false when there is none. */
  private sender: ((m: AgentMessage) => boolean) | undefined;
  /** readPast() on the current stream once it is welcomed. */
  private reader: ((cb: () => void) => void) | undefined;
  private renewal: CertRenewal | undefined;
  /** A renewal stored new credentials: the next dial builds its channels with them. */
  private credentialsStale = false;
  /** Channels made with credentials a renewal replaced: closed at stop, not while a call (an artifact fetch) may still use them. */
  private readonly retired: AgentServiceClient[] = [];
  private readonly wall: () => number;
  /** Writes of credentials (a renewal's, a trust bundle's), in the order the controller sent them. */
  private saving: Promise<void> = Promise.resolve();
  /** Why the session ended for good, once it has. */
  fatalError: Error | undefined;

  constructor(private readonly opts: SessionOptions) {
    super();
    this.mono = opts.mono ?? monoMs;
    this.lastContact = opts.initialContactMs ?? this.mono();
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 1000;
    this.wall = opts.wall ?? Date.now;
  }

  /**
   * When the controller was last heard from, on the monotonic clock: when the Hello a
   * Welcome answers, or the heartbeat an ack answers, left (stream() says why), or a
   * round of MoveOns for the store's loss from every member (store-loss-round.ts).
   */
  lastContactMs(): number {
    return this.lastContact;
  }

  /** A stream is open and welcomed. */
  get connected(): boolean {
    return this.sender !== undefined;
  }

  get hostId(): string | undefined {
    return this.identity?.hostId;
  }

  /** The member the stream is with (or being dialled). */
  get member(): string | undefined {
    return this.rotation?.current;
  }

  /** Joins if this data dir has no identity yet, then runs the stream in the background. */
  async start(): Promise<Identity> {
    const stored = await loadIdentity(this.opts.dataDir);
    if (stored && !this.opts.rejoin) this.refuseExpired(stored);
    this.identity = stored && !this.opts.rejoin ? stored : await this.join(stored?.hostId);
    const given = this.opts.controllers?.length ? formatMemberList(this.opts.controllers) : undefined;
    if (given && given !== this.identity.controller) this.identity = { ...this.identity, controller: given };
    if (stored) {
      let members: string[];
      try {
        members = parseMemberList(this.identity.controller);
      } catch (e) {
        throw new JoinError(`${this.opts.dataDir}/identity/host.json: controller: ${errText(e)}; give --controller`);
      }
      this.rotation = new MemberRotation(members, this.opts.random);
    }
    const { keyPem, certPem, caPem } = this.identity;
    this.credentials = grpcClientCredentials(caPem, { certPem, keyPem });
    const hostId = this.identity.hostId;
    this.renewal = new CertRenewal({
      hostId,
      current: () => this.identity!,
      send: (m) => this.send(m),
      save: (c) => this.inOrder(() => saveRenewal(this.opts.dataDir, c)),
      renewed: (c) => {
        this.identity = { ...this.identity!, certPem: c.certPem, keyPem: c.keyPem, caPem: c.caPem };
        this.credentialsStale = true;
        this.emit("renewed", { serial: c.serial, notAfterMs: c.notAfterMs });
      },
      log: this.opts.log,
      wall: this.wall,
    });
    this.loop = this.run();
    return this.identity;
  }

  /**
   * A channel in TRANSIENT_FAILURE fails a call at once, without dialling, until its
   * own reconnect backoff (up to 2 s) is over: the session's retry would not reach a
   * controller that is back, and with it a restarted controller's grace (one TTL)
   * could pass with this host still away. A fresh channel dials now, so the
   * session's backoff (capped at TTL/2) alone decides when.
   */
  private dropFailedChannel(member: string): void {
    const c = this.clients.get(member);
    if (!c || c.getChannel().getConnectivityState(false) !== grpc.connectivityState.TRANSIENT_FAILURE) return;
    c.close();
    this.clients.delete(member);
  }

  /** An expired certificate is refused by every member: say so, with the way out, instead of dialling in vain. */
  private refuseExpired(id: Identity): void {
    let notAfterMs: number;
    try {
      notAfterMs = certFacts(id.certPem).notAfterMs;
    } catch {
      return; // unreadable: the controller's refusal says why
    }
    if (this.wall() >= notAfterMs) throw new CertificateExpiredError(id.hostId, notAfterMs, this.opts.dataDir);
  }

  private inOrder(fn: () => Promise<void>): Promise<void> {
    const next = this.saving.then(fn);
    this.saving = next.catch(() => undefined);
    return next;
  }

  /**
   * TrustBundle: the CAs to trust from the next connection (a CA rotation adds the
   * new CA, then drops the old), stored atomically; and, during a rotation, a
   * renewal within renew_within_ms when this host's certificate is not signed by
   * the newest CA. A bundle that is not one is refused, and the stored one kept.
   */
  private async onTrustBundle(t: TrustBundle__Output): Promise<void> {
    const why = checkCaBundle(t.ca_pem);
    if (why) {
      this.opts.log.warn({ reason: why }, "trust bundle from the controller refused; keeping the CAs this agent has");
      return;
    }
    await this.inOrder(async () => {
      if (!this.identity || t.ca_pem === this.identity.caPem) return;
      await saveTrustBundle(this.opts.dataDir, t.ca_pem);
      this.identity = { ...this.identity, caPem: t.ca_pem };
      this.credentialsStale = true;
      this.opts.log.info({ cas: t.ca_pem.match(/BEGIN CERTIFICATE/g)?.length ?? 0 }, "trust bundle stored; the next connection uses it");
      this.emit("trustBundle", { caPem: t.ca_pem });
    });
    const within = Number(t.renew_within_ms);
    if (within > 0 && this.identity && !signedByNewest(this.identity.certPem, t.ca_pem)) this.renewal?.renewWithin(within);
  }

  /** Builds the channels anew with the credentials a renewal stored. */
  private useRenewedCredentials(): void {
    if (!this.credentialsStale) return;
    this.credentialsStale = false;
    const { keyPem, certPem, caPem } = this.identity!;
    this.credentials = grpcClientCredentials(caPem, { certPem, keyPem });
    this.retired.push(...this.clients.values());
    this.clients.clear();
  }

  private clientFor(member: string): AgentServiceClient {
    let c = this.clients.get(member);
    if (!c) {
      c = new (loadProtos().agent.berth.v1.AgentService)(member, this.credentials!, {
        ...channelOptions(),
        // Fail fast on a dead controller; the session owns the retry policy.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2000,
      });
      this.clients.set(member, c);
    }
    return c;
  }

  /** Streams a stored artifact from the controller (mutual TLS, like the stream): from the member that last served us. */
  async *fetchArtifact(sha256: string, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const member = this.rotation?.lastGood ?? this.rotation?.current;
    if (!member || !this.credentials) throw new Error("not connected to a controller yet");
    const call = this.clientFor(member).FetchArtifact({ sha256 });
    const onAbort = (): void => call.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const chunk of call as AsyncIterable<ArtifactChunk__Output>) yield chunk.data;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Sends a message on the current stream. Statuses are level-triggered: one
   * that cannot be sent now is re-sent whole after the next connect.
   */
  send(m: AgentMessage): boolean {
    return this.sender?.(m) ?? false;
  }

  /**
   * Runs `cb` once the controller has read everything sent so far on the current stream:
   * when it answers a heartbeat sent after this call (the stream is ordered, and the
   * controller takes a message in before it answers a later one). Never, when the stream
   * ends first or there is none: what was sent is then sent again after the next connect.
   */
  readPast(cb: () => void): void {
    this.reader?.(cb);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.call?.cancel();
    this.renewal?.stop();
    await this.loop;
    for (const c of [...this.clients.values(), ...this.retired]) c.close();
  }

  /** keepId: re-join as this host (--rejoin), not as a new one. */
  private async join(keepId?: string): Promise<Identity> {
    const { token, controllers, log } = this.opts;
    if (keepId !== undefined && !token) throw new JoinError(`--rejoin needs a join token (--token-file or BERTH_JOIN_TOKEN): create one with \`berth token create --role agent --uses 1\``);
    if (keepId !== undefined && !controllers?.length) throw new JoinError("--rejoin needs --controller");
    if (!token || !controllers?.length) {
      throw new JoinError(`${this.opts.dataDir} holds no identity yet: give --controller and a join token with --token-file FILE or BERTH_JOIN_TOKEN (berth token create --role agent makes one)`);
    }
    let parsed;
    try {
      parsed = parseToken(token);
    } catch (e) {
      throw new JoinError(errText(e));
    }
    if (parsed.kind !== "join" || !parsed.caFingerprint) throw new JoinError("this is not a join token: create one with `berth token create --role agent`");
    // Any member will do (they share the CA and the store): the agent's own order, from a random start.
    const rotation = new MemberRotation(controllers, this.opts.random);
    this.rotation = rotation;
    for (let attempt = 0; ; attempt++) {
      const member = rotation.current;
      const addr = parseHostPort(member);
      try {
        // Pin the controller's CA by the fingerprint the token carries.
        const caPem = await fetchServerCaPem(addr.host, addr.port, parsed.caFingerprint, 5000);
        const facts = this.opts.facts();
        const { keyPem, csrPem } = await createKeyAndCsr(keepId ?? (facts.hostname || "host"));
        // A re-join keeps the stored pair until the new one is had (saveRenewal below): a refused
        // --rejoin must not leave a key beside a certificate it does not belong to.
        if (keepId === undefined) await saveKey(this.opts.dataDir, keyPem);
        const client = new (loadProtos().agent.berth.v1.AgentService)(member, grpcClientCredentials(caPem), channelOptions());
        try {
          const res = await new Promise<JoinResponse__Output>((resolve, reject) =>
            client.Join(
              { token, csr_pem: csrPem, facts, labels: this.opts.labels, advertise_addr: this.opts.advertiseAddr ?? "", host_id: keepId ?? "" },
              { deadline: Date.now() + 15_000 },
              (err, r) => (err || !r ? reject(err ?? new Error("empty join response")) : resolve(r)),
            ),
          );
          // Every member is kept, so a restart without --controller still knows the group.
          const id: Identity = { hostId: res.host_id, controller: formatMemberList(controllers), certPem: res.certificate_pem, keyPem, caPem: res.ca_pem };
          if (keepId !== undefined) await saveRenewal(this.opts.dataDir, { certPem: id.certPem, keyPem, caPem: id.caPem });
          await saveIdentity(this.opts.dataDir, id);
          rotation.welcomed();
          log.info({ host: id.hostId, controller: member }, keepId !== undefined ? "re-joined keeping this host's id" : "joined");
          return id;
        } finally {
          client.close();
        }
      } catch (err) {
        const code = grpcCode(err);
        const name = (err as { name?: unknown } | null)?.name;
        const rejoinRefused = keepId !== undefined && (code === grpc.status.NOT_FOUND || code === grpc.status.FAILED_PRECONDITION);
        if ((code !== undefined && FATAL.has(code)) || rejoinRefused || name === "CaMismatchError") throw new JoinError(`join refused: ${errText(err)}`);
        if (this.stopped) throw new JoinError("stopped before joining");
        // Per round over the members, as reconnects do: a live member behind a dead one is tried soon.
        const delay = backoffDelayMs(this.opts.backoff ?? DEFAULT_BACKOFF, Math.floor(attempt / controllers.length));
        const next = rotation.lost();
        log.warn({ err: errText(err), controller: member, next, retryInMs: delay }, "join failed; retrying");
        await this.pause(delay);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeoutClamped(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const rotation = this.rotation!;
    let failures = 0;
    while (!this.stopped) {
      const member = rotation.current;
      try {
        // Expired while running (the controller was unreachable for the rest of its life): no member will take it.
        this.refuseExpired(this.identity!);
      } catch (e) {
        this.giveUp(e as Error);
        break;
      }
      this.useRenewedCredentials();
      this.dropFailedChannel(member);
      const dialledMono = this.mono();
      const { welcomed, reason, fatal, moveOn, removed } = await this.stream(member);
      if (this.stopped) break;
      if (removed) {
        this.emit("disconnected", { reason, member });
        this.giveUp(new HostRemovedError(this.identity!.hostId, removed, this.opts.dataDir));
        break;
      }
      this.emit("disconnected", { reason, member });
      // A member that sent us away did not serve us: count it as a failed try,
      // so members that all send agents away (all cut off from etcd) are not
      // dialled in a tight loop.
      failures = welcomed && !moveOn ? 0 : failures + 1;
      // Never the same member first after a MoveOn; after a loss, the next in our order.
      const next = moveOn ? rotation.movedOn(moveOn.preferred) : rotation.lost();
      // Within the TTL of grace a restarted controller gives (shared/members.ts).
      const delay = reconnectDelayMs(this.opts.backoff ?? DEFAULT_BACKOFF, { ttlMs: this.ttlMs, failures, members: rotation.members.length, fatal, refused: refusedAtOnce({ welcomed, sentAway: moveOn !== undefined, tookMs: this.mono() - dialledMono }) });
      const fields = { reason, controller: member, next, retryInMs: delay };
      if (fatal) this.opts.log.error(fields, "controller refused this agent");
      else if (moveOn) this.opts.log.warn(fields, "the controller member sent this agent to another member");
      else this.opts.log.warn(fields, "controller stream lost; reconnecting");
      await this.pause(delay);
    }
  }

  /** Ends the session for good: logged, and told to the agent (which stops). */
  private giveUp(err: Error): void {
    this.fatalError = err;
    this.opts.log.error({ err: err.message }, "this agent cannot go on");
    this.emit("fatal", err);
  }

  /** One stream with one member, start to end. Resolves (never rejects) with why it ended. */
  private stream(member: string): Promise<StreamEnd> {
    const id = this.identity!;
    const log = this.opts.log;
    return new Promise((resolve) => {
      let welcomed = false;
      let ended = false;
      let seq = 0;
      let lastHeardMs = this.mono();
      let heartbeat: NodeJS.Timeout | undefined;
      const client = this.clientFor(member);
      const call = client.Connect();
      this.call = call;
      // Word from the controller, for self-fencing and the watchdog's lease, is an answer to what this
      // agent sent — the Welcome to its Hello, an ack to a heartbeat — counted from when that left:
      // the controller waits from when it received it, which is no sooner. Counting from the answer's
      // arrival would add this agent's delay in reading it (a loaded host) to a budget that does not
      // cover it; counting other messages would keep a copy running whose heartbeats no longer reach
      // the controller (a one-way partition), which goes on to start its replacement.
      const beatLeftMs = new Map<number, number>();
      /** readPast() callbacks of this stream (read-past.ts); dropped with it. */
      const readers = new ReadWaiters();
      /** Contact only moves forward: an answer to an older message changes nothing. */
      const contactAt = (atMs: number | undefined): void => {
        if (atMs !== undefined && atMs > this.lastContact) this.lastContact = atMs;
      };
      // The Hello is queued below, but leaves no sooner than the channel is ready: after a partition
      // heals, a connection can take seconds to come up (a SYN retried), and counting from the
      // queueing would make a freshly welcomed agent fence what it was just given.
      let helloLeftMs = this.mono();
      const channel = client.getChannel();
      const whenReady = (): void => {
        if (ended) return;
        try {
          const st = channel.getConnectivityState(false);
          if (st === grpc.connectivityState.READY) helloLeftMs = Math.max(helloLeftMs, this.mono());
          // Re-armed each second, so a stream that ended first is let go within one (not at the channel's next change).
          else channel.watchConnectivityState(st, Date.now() + 1000, whenReady);
        } catch {
          // The channel is shut down (the session stops): the stream ends with it.
        }
      };
      whenReady();

      const finish = (reason: string, fatal = false, moveOn?: { preferred: string }, removed?: string): void => {
        if (ended) return;
        ended = true;
        this.sender = undefined;
        this.reader = undefined;
        this.renewal?.disconnected();
        clearInterval(heartbeat);
        clearInterval(watchdog);
        call.removeAllListeners("data");
        call.on("error", () => undefined); // cancel() below reports CANCELLED; nothing to do with it
        call.cancel();
        this.call = undefined;
        resolve({ welcomed, reason, fatal, moveOn, removed });
      };

      // Heartbeats and statuses go ahead of log and exec data (outbound.ts).
      const out = new Outbound(call);
      const send = (m: AgentMessage): void => out.send(m);

      const beat = (): void => {
        seq++;
        beatLeftMs.set(seq, this.mono());
        // Unanswered ones are no use once a later one is answered; a silent controller leaves at most this many.
        if (beatLeftMs.size > 64) beatLeftMs.delete(beatLeftMs.keys().next().value!);
        send({ heartbeat: { seq, sent_at_ms: Date.now(), usage: this.opts.usage() } });
      };
      const startHeartbeats = (): void => {
        clearInterval(heartbeat);
        heartbeat = setIntervalClamped(beat, this.heartbeatIntervalMs);
        // One at once: its answer is the first fresh word on this stream (a Welcome's counts only from when
        // the Hello left), which a copy held for it waits on (converger.ts).
        beat();
      };

      // Only the time this process ran counts as the controller's quiet (shared/stalls.ts): after a stall the tick runs before the acks waiting in the socket are read.
      const watchdogMs = Math.min(500, this.heartbeatIntervalMs);
      const quiet = new QuietClock(lastHeardMs, watchdogMs, this.ttlMs);
      const watchdog = setIntervalClamped(() => {
        const quietMs = Math.round(quiet.tick(this.mono()));
        if (quietMs > Math.max(this.ttlMs, 3 * this.heartbeatIntervalMs)) finish(`no word from the controller for ${quietMs} ms`);
      }, watchdogMs);

      call.on("data", (m: ControllerMessage__Output) => {
        lastHeardMs = this.mono();
        quiet.heard(lastHeardMs);
        // Read: the controller holds back what would leave more than its window unread (read-window.ts).
        if (m.msg === "read_receipt" && m.read_receipt) send({ read_receipt: { token: m.read_receipt.token } });
        if (m.msg === "move_on") {
          // Not word from the controller by itself: see store-loss-round.ts.
          if (m.move_on?.store_unavailable) {
            this.storeLoss.record(member, lastHeardMs);
            contactAt(this.storeLoss.contactMono(this.rotation?.members ?? []));
          }
        } else if (m.msg === "welcome") contactAt(helloLeftMs);
        else if (m.msg === "heartbeat_ack" && m.heartbeat_ack) {
          const answered = Number(m.heartbeat_ack.seq);
          contactAt(beatLeftMs.get(answered));
          for (const k of beatLeftMs.keys()) if (k <= answered) beatLeftMs.delete(k);
          readers.answered(answered, (err) => log.error({ err }, "a read-past callback failed"));
        }
        if (m.msg === "welcome" && m.welcome) {
          welcomed = true;
          this.storeLoss.reset();
          this.heartbeatIntervalMs = Math.max(100, m.welcome.heartbeat_interval_ms || this.heartbeatIntervalMs);
          this.ttlMs = Math.max(1000, m.welcome.ttl_ms || this.ttlMs);
          startHeartbeats();
          this.sender = (msg) => {
            if (ended) return false;
            send(msg);
            return true;
          };
          this.reader = (cb) => {
            if (!ended) readers.add(seq, cb);
          };
          this.rotation?.welcomed();
          log.info({ host: id.hostId, controller: member, heartbeatMs: this.heartbeatIntervalMs }, "connected");
          this.emit("connected", { hostId: id.hostId, heartbeatIntervalMs: this.heartbeatIntervalMs, ttlMs: this.ttlMs, advertiseAddr: m.welcome.advertise_addr, member });
          this.renewal?.connected();
        } else if (m.msg === "certificate_issued" && m.certificate_issued) {
          void this.renewal?.answer(m.certificate_issued);
        } else if (m.msg === "trust_bundle" && m.trust_bundle) {
          void this.onTrustBundle(m.trust_bundle).catch((err: unknown) => log.warn({ err }, "storing the trust bundle failed; keeping the CAs this agent has"));
        } else if (m.msg === "host_removed" && m.host_removed) {
          const why = m.host_removed.reason.slice(0, 300) || "no reason given";
          finish(`this host was removed from the fleet: ${why}`, true, undefined, why);
        } else if (m.msg === "move_on" && m.move_on) {
          // The member cannot serve us (cut off from etcd, stopping): go to another.
          // What runs here keeps running; the next member gets a whole Hello.
          finish(`the controller member asked this agent to move on: ${m.move_on.reason || "no reason given"}`, false, { preferred: m.move_on.preferred });
        } else if (m.msg === "heartbeat_ack" && m.heartbeat_ack) {
          this.emit("heartbeatAck", { rttMs: Date.now() - m.heartbeat_ack.sent_at_ms });
        } else if (m.msg === "assignment" || m.msg === "log_request" || m.msg === "log_cancel" || m.msg === "log_ack") {
          // The handlers check what they are given (the converger refuses a malformed
          // assignment and reports it); a throw all the same must not escape the
          // stream's listener and end the agent.
          try {
            if (m.msg === "assignment" && m.assignment) {
              log.debug({ assignment: m.assignment.instance || "none", epoch: m.assignment.epoch }, "assignment");
              this.opts.onAssignment?.(m.assignment);
            } else if (m.msg === "log_request" && m.log_request) this.opts.onLogRequest?.(m.log_request);
            else if (m.msg === "log_cancel" && m.log_cancel) this.opts.onLogCancel?.(m.log_cancel.request_id);
            else if (m.msg === "log_ack" && m.log_ack) this.opts.onLogAck?.(m.log_ack);
          } catch (err) {
            log.error({ err, msg: m.msg }, "controller message failed");
          }
        } else if (m.msg === "exec_start" || m.msg === "exec_input" || m.msg === "exec_resize" || m.msg === "exec_close") {
          // A throw here would escape the stream's listener and end the agent: log it instead.
          try {
            this.opts.onExec?.(m);
          } catch (err) {
            log.error({ err, msg: m.msg }, "exec message failed");
          }
        }
      });
      call.on("error", (err) => {
        const code = grpcCode(err);
        // A removed host's certificate is refused with this mark: it stops, rather than knock for ever.
        const mark = (err as { metadata?: grpc.Metadata }).metadata?.get(REFUSAL_KEY)[0];
        finish(errText(err), code !== undefined && FATAL.has(code), undefined, mark === REFUSAL_HOST_REMOVED ? errText(err) : undefined);
      });
      call.on("end", () => finish("controller closed the stream"));

      send({
        hello: {
          host_id: id.hostId,
          facts: this.opts.facts(),
          labels: this.opts.labels,
          advertise_addr: this.opts.advertiseAddr ?? "",
          running: this.opts.running?.() ?? [],
          artifacts: this.opts.artifacts?.() ?? [],
        },
      });
    });
  }
}
