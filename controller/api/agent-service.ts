/**
 * AgentService: Join (authorised by a join token, no client certificate) and the
 * long-lived Connect stream (authorised by the client certificate issued at join).
 * Both share the controller's port: the TLS layer asks for a client certificate
 * but does not insist, and each handler demands what it needs.
 */
import { monoMs } from "../../shared/clock.js";
import * as grpc from "@grpc/grpc-js";
import { randomBytes, X509Certificate } from "node:crypto";
import type { AgentServiceHandlers } from "../../shared/gen/berth/v1/AgentService.js";
import type { AgentMessage__Output } from "../../shared/gen/berth/v1/AgentMessage.js";
import type { ControllerMessage } from "../../shared/gen/berth/v1/ControllerMessage.js";
import type { JoinRequest__Output } from "../../shared/gen/berth/v1/JoinRequest.js";
import type { JoinResponse } from "../../shared/gen/berth/v1/JoinResponse.js";
import type { HostFacts__Output } from "../../shared/gen/berth/v1/HostFacts.js";
import type { Logger } from "../../shared/log/logger.js";
import { InvalidCsrError, peerCertificate, signHostCsr, verifyClientCert } from "../../shared/tls/pki.js";
import type { TokenService } from "../auth/token-service.js";
import type { HostRecord } from "../hosts/host.js";
import type { HostRegistry } from "../hosts/registry.js";
import { GrpcError, serviceError, toStatus } from "./errors.js";
import { validateAdvertiseAddr, validateDigests, validateExecExit, validateExecOutput, validateFacts, validateInstanceStatus, validateLabels, validateUsage } from "./validate.js";
import type { ReconcileLoop } from "../reconcile/loop.js";
import type { ArtifactStore } from "../artifacts/artifact-store.js";
import type { LogRouter } from "./log-router.js";
import type { ExecRouter } from "./exec-router.js";
import type { EventLog } from "../events/event-log.js";

export interface AgentServiceDeps {
  registry: HostRegistry;
  tokens: TokenService;
  ca: { certPem: string; keyPem: string };
  log: Logger;
  now: () => number;
  /** The monotonic clock for heartbeat ages. @default monoMs */
  mono?: () => number;
  heartbeatIntervalMs: number;
  ttlMs: number;
  /** Called after any host's liveness may have changed, so the detector runs now. */
  onLiveness: () => void;
  loop: ReconcileLoop;
  artifacts: ArtifactStore;
  logs: LogRouter;
  /** Exec sessions relayed over agent streams; they end with their host's stream. */
  execs: ExecRouter;
  events: EventLog;
  /** Heartbeat timings for /metrics. */
  metrics?: { heartbeat(h: { sentAtMs: number; receivedAtMs: number; previousMs: number | undefined }): void };
}

/** Authenticates a call by its client certificate; undefined + a refusal when it has none valid. */
function certHost(d: AgentServiceDeps, call: { getAuthContext?: () => unknown }): { hostId: string } | { refuse: { code: grpc.status; details: string } } {
  const der = peerCertificate(call);
  if (!der) return { refuse: { code: grpc.status.UNAUTHENTICATED, details: "a client certificate is required: join first with a token" } };
  const verdict = verifyClientCert(d.ca.certPem, der, new Date(d.now()));
  if (!verdict.ok) return { refuse: { code: grpc.status.UNAUTHENTICATED, details: `client certificate refused: ${verdict.reason}` } };
  const stored = d.registry.get(verdict.hostId);
  if (!stored) return { refuse: { code: grpc.status.PERMISSION_DENIED, details: `host ${verdict.hostId} is not known to this controller: join again` } };
  if (new X509Certificate(der).serialNumber !== stored.certSerial) return { refuse: { code: grpc.status.UNAUTHENTICATED, details: "client certificate was superseded" } };
  return { hostId: verdict.hostId };
}

/** Events worth an operator's time among instance state changes. */
const EVENT_STATES = new Set(["starting", "healthy", "unhealthy", "failed"]);

/** "ipv4:10.0.0.2:5000", "10.0.0.2:5000", "[::1]:5000" → the address part. */
export function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, "");
  const v6 = /^\[([^\]]+)\]/.exec(p);
  if (v6) return v6[1]!.replace(/^::ffff:/, "");
  return p.split(":")[0] ?? "";
}

let streamSeq = 0;

/**
 * Joins with the same token run one at a time: each spends a use of the token
 * with compare-and-set, so concurrent ones would mostly lose the race and retry.
 * Installing a rack of servers with one token is the normal case.
 */
const joinQueues = new Map<string, Promise<unknown>>();
function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = joinQueues.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  joinQueues.set(key, tail);
  void tail.then(() => {
    if (joinQueues.get(key) === tail) joinQueues.delete(key);
  });
  return next;
}

export function agentServiceHandlers(d: AgentServiceDeps): AgentServiceHandlers {
  /** One join, under the token's lock: spend a use, sign, create the host — in one txn. */
  async function admit(req: JoinRequest__Output, peer: string, facts: HostFacts__Output, labels: Record<string, string>, advertise: string): Promise<JoinResponse> {
    const spend = await d.tokens.prepareJoin(req.token);
    const id = randomBytes(6).toString("hex");
    let certPem: string;
    try {
      certPem = await signHostCsr(d.ca, req.csr_pem, id);
    } catch (e) {
      if (e instanceof InvalidCsrError) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `csr_pem: ${e.message}`);
      throw e;
    }
    const now = d.now();
    const rec: HostRecord = {
      id,
      labels,
      advertiseAddr: advertise || peerAddress(peer),
      facts,
      health: "joining",
      healthSinceMs: now,
      cordoned: false,
      joinedAtMs: now,
      certSerial: new X509Certificate(certPem).serialNumber,
    };
    const ok = await d.registry.create(
      rec,
      { compares: [spend.compare], ops: [spend.op] },
      { type: "host.joined", host: id, message: `${facts.hostname || "host"} joined from ${rec.advertiseAddr}`, actor: spend.tokenId },
    );
    // Lost a race for the token's last use (or, vanishingly, the id): the caller may retry.
    if (!ok) throw new GrpcError(grpc.status.ABORTED, "the join token changed concurrently; try again");
    d.log.info({ host: id, hostname: facts.hostname, addr: rec.advertiseAddr, token: spend.tokenId }, "host joined");
    return { host_id: id, certificate_pem: certPem, ca_pem: d.ca.certPem };
  }

  return {
    async Join(call, callback) {
      try {
        const req = call.request;
        const facts = validateFacts(req.facts ?? {}, "facts");
        const labels = validateLabels(req.labels ?? {}, "labels");
        const advertise = validateAdvertiseAddr(req.advertise_addr ?? "", "advertise_addr");
        if (req.csr_pem.length > 16_384) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "csr_pem: larger than 16 KiB");
        const res = await serialized(req.token.slice(0, 256), () => admit(req, call.getPeer(), facts, labels, advertise));
        callback(null, res);
      } catch (err) {
        const s = toStatus(err);
        if (s.internal) d.log.error({ err }, "join failed");
        else d.log.warn({ peer: call.getPeer(), reason: s.details }, "join refused");
        callback(serviceError(err));
      }
    },

    Connect(call) {
      const sid = ++streamSeq;
      const fail = (code: grpc.status, details: string): void => {
        d.log.warn({ peer: call.getPeer(), reason: details }, "agent stream refused");
        call.emit("error", Object.assign(new Error(details), { code, details }));
      };
      const who = certHost(d, call);
      if ("refuse" in who) return fail(who.refuse.code, who.refuse.details);
      const hostId = who.hostId;

      const log = d.log.child({ host: hostId });
      let greeted = false;
      const send = (m: ControllerMessage): void => {
        // Backpressure: the controller sends little (acks, assignments); if the
        // socket is that far behind the agent is stalled, and its heartbeats say so.
        call.write(m);
      };

      call.on("data", (msg: AgentMessage__Output) => {
        void (async () => {
          try {
            if (msg.msg === "hello" && msg.hello) {
              const h = msg.hello;
              if (h.host_id !== hostId) throw new GrpcError(grpc.status.PERMISSION_DENIED, `hello.host_id ${h.host_id.slice(0, 64)} does not match the certificate (${hostId})`);
              const facts = validateFacts(h.facts ?? {}, "hello.facts");
              const labels = validateLabels(h.labels ?? {}, "hello.labels");
              const advertise = validateAdvertiseAddr(h.advertise_addr, "hello.advertise_addr") || peerAddress(call.getPeer());
              const live = d.registry.liveOf(hostId);
              // A newer stream from the same host replaces the old one (the agent restarted or reconnected).
              live.disconnect?.("replaced by a newer stream");
              live.disconnect = (why) => {
                log.info({ why }, "closing agent stream");
                d.logs.hostGone(hostId);
                d.execs.hostGone(hostId, `its agent stream was closed (${why})`);
                call.end();
              };
              live.send = send;
              live.streamId = sid;
              live.lastHeartbeatMs = d.now();
              live.lastHeartbeatMono = (d.mono ?? monoMs)();
              live.artifacts = validateDigests(h.artifacts, "hello.artifacts");
              // A host back from the dead may still run a copy that was replaced
              // meanwhile (DESIGN.md, "Epochs and fencing"): it gets "none" below,
              // and stays out of ready until it reports that copy stopped.
              live.fencing = new Set(h.running.slice(0, 16).filter((r) => d.loop.isSuperseded(hostId, r.instance, r.epoch)).map((r) => r.instance.slice(0, 80)));
              for (const r of live.fencing) {
                const epoch = h.running.find((x) => x.instance === r)?.epoch ?? 0;
                log.warn({ instance: r, epoch }, "host runs a superseded copy: stopping it before the host is ready");
                await d.events.append({ type: "host.fencing", host: hostId, message: `stopping superseded ${r} (epoch ${epoch}) before the host counts as ready` });
              }
              greeted = true;
              await d.registry.update(hostId, (rec) => {
                const changed =
                  JSON.stringify(rec.facts) !== JSON.stringify(facts) ||
                  JSON.stringify(rec.labels) !== JSON.stringify(labels) ||
                  rec.advertiseAddr !== advertise;
                return changed ? { rec: { ...rec, facts, labels, advertiseAddr: advertise } } : undefined;
              });
              send({ welcome: { host_id: hostId, heartbeat_interval_ms: d.heartbeatIntervalMs, ttl_ms: d.ttlMs, advertise_addr: advertise } });
              d.loop.sendAssignment(hostId);
              d.loop.kick();
              log.info({ addr: advertise }, "agent connected");
              d.onLiveness();
            } else if (msg.msg === "heartbeat" && msg.heartbeat) {
              if (!greeted) throw new GrpcError(grpc.status.FAILED_PRECONDITION, "heartbeat before hello");
              const usage = validateUsage(msg.heartbeat.usage ?? {}, "heartbeat.usage");
              const live = d.registry.liveOf(hostId);
              // A stream replaced by a newer one, or dropped when the host was declared down.
              if (live.streamId !== sid) return;
              const previousMs = live.lastHeartbeatMs;
              live.lastHeartbeatMs = d.now();
              live.lastHeartbeatMono = (d.mono ?? monoMs)();
              d.metrics?.heartbeat({ sentAtMs: msg.heartbeat.sent_at_ms, receivedAtMs: live.lastHeartbeatMs, previousMs });
              live.usage = usage;
              send({ heartbeat_ack: { seq: msg.heartbeat.seq, sent_at_ms: msg.heartbeat.sent_at_ms } });
              const rec = d.registry.get(hostId);
              if (rec && rec.health !== "ready") d.onLiveness();
            } else if (msg.msg === "instance_status" && msg.instance_status) {
              if (!greeted) throw new GrpcError(grpc.status.FAILED_PRECONDITION, "instance_status before hello");
              // Reports of a replaced (or dropped) stream are older than what the current one says.
              if (d.registry.live.get(hostId)?.streamId !== sid) return;
              const st = validateInstanceStatus(msg.instance_status);
              const prev = d.loop.observed.get(hostId);
              const now = d.now();
              d.loop.observed.set(hostId, {
                hostId,
                service: st.service,
                instance: st.instance,
                epoch: st.epoch,
                revision: st.revision,
                state: st.state,
                detail: st.detail,
                restarts: st.restarts,
                // First sight of this state (also after a controller restart): it began age_ms ago,
                // measured on the agent's own clock, so no clock offset enters.
                sinceMs: prev && prev.instance === st.instance && prev.epoch === st.epoch && prev.state === st.state ? prev.sinceMs : now - Math.min(st.age_ms, now),
                pid: st.pid,
                resourcesEnforced: st.resources_enforced,
                resourcesNote: st.resources_note,
                installTail: st.install_tail,
              });
              const live = d.registry.liveOf(hostId);
              if (live.fencing.has(st.instance) && (st.state === "stopped" || st.state === "failed")) {
                live.fencing.delete(st.instance);
                await d.events.append({ type: "host.fenced", host: hostId, message: `superseded ${st.instance} (epoch ${st.epoch}) stopped` });
                d.onLiveness();
              }
              if (prev?.state !== st.state || prev.instance !== st.instance) {
                log.info({ service: st.service, instance: st.instance, epoch: st.epoch, state: st.state, detail: st.detail || undefined }, "instance state");
                if (EVENT_STATES.has(st.state)) {
                  await d.events.append({ type: `instance.${st.state}`, service: st.service, host: hostId, message: `${st.instance} (epoch ${st.epoch}) ${st.state}${st.detail ? `: ${st.detail}` : ""}` });
                }
              }
              d.loop.kick();
            } else if (msg.msg === "log_chunk" && msg.log_chunk) {
              const c = msg.log_chunk;
              if (c.data.length > 1024 * 1024) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "log_chunk.data: larger than 1 MiB");
              if (d.registry.live.get(hostId)?.streamId !== sid) return;
              d.logs.deliver(hostId, c);
            } else if (msg.msg === "exec_output" && msg.exec_output) {
              const o = validateExecOutput(msg.exec_output);
              if (d.registry.live.get(hostId)?.streamId !== sid) return;
              d.execs.output(hostId, o);
            } else if (msg.msg === "exec_exit" && msg.exec_exit) {
              const e = validateExecExit(msg.exec_exit);
              if (d.registry.live.get(hostId)?.streamId !== sid) return;
              d.execs.exit(hostId, e);
            } else {
              throw new GrpcError(grpc.status.INVALID_ARGUMENT, "empty or unknown message");
            }
          } catch (err) {
            const s = toStatus(err);
            if (s.internal) log.error({ err }, "agent stream failed");
            fail(s.code, s.details);
          }
        })();
      });
      const closed = (): void => {
        const live = d.registry.live.get(hostId);
        if (live?.streamId === sid) {
          live.disconnect = undefined;
          live.send = undefined;
          live.streamId = undefined;
          d.logs.hostGone(hostId);
          d.execs.hostGone(hostId, "its agent disconnected");
          log.info("agent disconnected");
        }
      };
      call.on("end", () => {
        closed();
        call.end();
      });
      call.on("cancelled", closed);
      call.on("error", closed);
    },

    FetchArtifact(call) {
      const who = certHost(d, call);
      const fail = (code: grpc.status, details: string): void => void call.emit("error", Object.assign(new Error(details), { code, details }));
      if ("refuse" in who) return fail(who.refuse.code, who.refuse.details);
      const sha = call.request.sha256;
      void (async () => {
        let cancelled = false;
        try {
          const size = /^[0-9a-f]{64}$/.test(sha) ? await d.artifacts.size(sha) : undefined;
          if (size === undefined) return fail(grpc.status.NOT_FOUND, `no artifact ${sha.slice(0, 64)}`);
          const src = d.artifacts.read(sha);
          const wake: (() => void)[] = [];
          call.on("cancelled", () => {
            cancelled = true;
            src.destroy();
            for (const w of wake.splice(0)) w();
          });
          let first = true;
          for await (const chunk of src as AsyncIterable<Buffer>) {
            if (cancelled) return;
            const ok = call.write({ sha256: first ? sha : "", size: first ? size : 0, data: chunk });
            first = false;
            // Wait for the socket to drain, or for the client to give up.
            if (!ok) await new Promise<void>((r) => {
              wake.push(r);
              call.once("drain", () => r());
            });
          }
          call.end();
        } catch (err) {
          if (cancelled) return;
          d.log.warn({ err, host: who.hostId }, "artifact fetch failed");
          fail(grpc.status.INTERNAL, "reading the artifact failed");
        }
      })();
    },
  };
}
