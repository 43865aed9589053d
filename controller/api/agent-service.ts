/**
 * AgentService: Join (authorised by a join token, no client certificate) and the
 * long-lived Connect stream (authorised by the client certificate issued at join).
 * Both share the controller's port: the TLS layer asks for a client certificate
 * but does not insist, and each handler demands what it needs.
 */
import * as grpc from "@grpc/grpc-js";
import { randomBytes, X509Certificate } from "node:crypto";
import type { AgentServiceHandlers } from "../../shared/gen/berth/v1/AgentService.js";
import type { AgentMessage__Output } from "../../shared/gen/berth/v1/AgentMessage.js";
import type { ControllerMessage } from "../../shared/gen/berth/v1/ControllerMessage.js";
import type { Logger } from "../../shared/log/logger.js";
import { InvalidCsrError, peerCertificate, signHostCsr, verifyClientCert } from "../../shared/tls/pki.js";
import type { TokenService } from "../auth/token-service.js";
import type { HostRecord } from "../hosts/host.js";
import type { HostRegistry } from "../hosts/registry.js";
import { GrpcError, serviceError, toStatus } from "./errors.js";
import { validateAdvertiseAddr, validateFacts, validateLabels, validateUsage } from "./validate.js";

export interface AgentServiceDeps {
  registry: HostRegistry;
  tokens: TokenService;
  ca: { certPem: string; keyPem: string };
  log: Logger;
  now: () => number;
  heartbeatIntervalMs: number;
  ttlMs: number;
  /** Called after any host's liveness may have changed, so the detector runs now. */
  onLiveness: () => void;
}

/** "ipv4:10.0.0.2:5000", "10.0.0.2:5000", "[::1]:5000" → the address part. */
export function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, "");
  const v6 = /^\[([^\]]+)\]/.exec(p);
  if (v6) return v6[1]!.replace(/^::ffff:/, "");
  return p.split(":")[0] ?? "";
}

let streamSeq = 0;

export function agentServiceHandlers(d: AgentServiceDeps): AgentServiceHandlers {
  return {
    async Join(call, callback) {
      try {
        const req = call.request;
        const facts = validateFacts(req.facts ?? {}, "facts");
        const labels = validateLabels(req.labels ?? {}, "labels");
        const advertise = validateAdvertiseAddr(req.advertise_addr ?? "", "advertise_addr");
        if (req.csr_pem.length > 16_384) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "csr_pem: larger than 16 KiB");
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
          advertiseAddr: advertise || peerAddress(call.getPeer()),
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
        callback(null, { host_id: id, certificate_pem: certPem, ca_pem: d.ca.certPem });
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
      const der = peerCertificate(call);
      if (!der) return fail(grpc.status.UNAUTHENTICATED, "a client certificate is required: join first with a token");
      const verdict = verifyClientCert(d.ca.certPem, der, new Date(d.now()));
      if (!verdict.ok) return fail(grpc.status.UNAUTHENTICATED, `client certificate refused: ${verdict.reason}`);
      const hostId = verdict.hostId;
      const stored = d.registry.get(hostId);
      if (!stored) return fail(grpc.status.PERMISSION_DENIED, `host ${hostId} is not known to this controller: join again`);
      const serial = new X509Certificate(der).serialNumber;
      if (serial !== stored.certSerial) return fail(grpc.status.UNAUTHENTICATED, "client certificate was superseded");

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
                call.end();
              };
              live.streamId = sid;
              live.lastHeartbeatMs = d.now();
              greeted = true;
              await d.registry.update(hostId, (rec) => {
                const changed =
                  JSON.stringify(rec.facts) !== JSON.stringify(facts) ||
                  JSON.stringify(rec.labels) !== JSON.stringify(labels) ||
                  rec.advertiseAddr !== advertise;
                return changed ? { rec: { ...rec, facts, labels, advertiseAddr: advertise } } : undefined;
              });
              send({ welcome: { host_id: hostId, heartbeat_interval_ms: d.heartbeatIntervalMs, ttl_ms: d.ttlMs } });
              // No services yet: the whole desired state of every host is "run nothing".
              send({ assignment: { service: "", instance: "", epoch: 0 } });
              log.info({ addr: advertise }, "agent connected");
              d.onLiveness();
            } else if (msg.msg === "heartbeat" && msg.heartbeat) {
              if (!greeted) throw new GrpcError(grpc.status.FAILED_PRECONDITION, "heartbeat before hello");
              const usage = validateUsage(msg.heartbeat.usage ?? {}, "heartbeat.usage");
              const live = d.registry.liveOf(hostId);
              if (live.streamId !== sid) return; // a stale stream that has been replaced
              live.lastHeartbeatMs = d.now();
              live.usage = usage;
              send({ heartbeat_ack: { seq: msg.heartbeat.seq, sent_at_ms: msg.heartbeat.sent_at_ms } });
              const rec = d.registry.get(hostId);
              if (rec && rec.health !== "ready") d.onLiveness();
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
          live.streamId = undefined;
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
  };
}
