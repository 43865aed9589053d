/**
 * AgentService: Join (authorised by a join token, no client certificate) and the
 * long-lived Connect stream (authorised by the client certificate issued at join;
 * agent-stream/ handles it).
 * Both share the controller's port: the TLS layer asks for a client certificate
 * but does not insist, and each handler demands what it needs.
 */
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import type { AgentServiceHandlers } from "../../../shared/gen/berth/v1/AgentService.js";
import type { JoinRequest__Output } from "../../../shared/gen/berth/v1/JoinRequest.js";
import type { JoinResponse } from "../../../shared/gen/berth/v1/JoinResponse.js";
import type { HostFacts__Output } from "../../../shared/gen/berth/v1/HostFacts.js";
import { InvalidCsrError, isValidHostId, signHostCsr } from "../../../shared/tls/pki.js";
import type { HostRecord } from "../../hosts/host.js";
import { certFacts } from "../../../shared/tls/cert-life.js";
import { GrpcError, serviceError, toStatus } from "./errors.js";
import { validateAdvertiseAddr, validateFacts, validateLabels } from "./validate.js";
import { certHost, peerAddress } from "../agent-stream/cert-host.js";
import { connectHandler } from "../agent-stream/connect.js";
import type { AgentServiceDeps } from "../agent-stream/deps.js";
import { failStream, streamArtifact } from "./artifact-stream.js";
import { ArtifactError } from "../../artifacts/artifact-store.js";
import { caBundlePem, signerFingerprint } from "../agent-stream/trust.js";

export type { AgentServiceDeps } from "../agent-stream/deps.js";

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

/**
 * Artifact downloads one host may have open at once. An agent fetches one artifact at a
 * time (and retries after a failure); a host holding thousands open, never reading,
 * held a file and ~750 KB of buffers for each, gigabytes in all.
 */
export const MAX_FETCHES_PER_HOST = 4;

export function agentServiceHandlers(d: AgentServiceDeps): AgentServiceHandlers {
  /** Downloads open per host (MAX_FETCHES_PER_HOST). */
  const fetching = new Map<string, number>();
  /** The host's certificate for its request, in the name the controller chose; a bad request is the caller's error. */
  async function sign(csrPem: string, id: string): Promise<{ certPem: string; certCa: string }> {
    // Read once: the fingerprint stored is that of the CA that signed (a rotation may start meanwhile).
    const signer = { certPem: d.ca.certPem, keyPem: d.ca.keyPem };
    try {
      return { certPem: await signHostCsr(signer, csrPem, id, { validityMs: d.certTtlMs }), certCa: signerFingerprint({ ca: signer }) };
    } catch (e) {
      if (e instanceof InvalidCsrError) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `csr_pem: ${e.message}`);
      throw e;
    }
  }

  /** One join, under the token's lock: spend a use, sign, create the host — in one txn. */
  async function admit(req: JoinRequest__Output, peer: string, facts: HostFacts__Output, labels: Record<string, string>, advertise: string): Promise<JoinResponse> {
    const spend = await d.tokens.prepareJoin(req.token);
    const id = randomBytes(6).toString("hex");
    const { certPem, certCa } = await sign(req.csr_pem, id);
    const now = d.now();
    const issued = certFacts(certPem);
    const rec: HostRecord = {
      id,
      labels,
      advertiseAddr: advertise || peerAddress(peer),
      facts,
      health: "joining",
      healthSinceMs: now,
      cordoned: false,
      joinedAtMs: now,
      certSerial: issued.serial,
      certNotAfterMs: issued.notAfterMs,
      certCa,
    };
    const ok = await d.registry.create(
      rec,
      { compares: [spend.compare], ops: [spend.op] },
      { type: "host.joined", host: id, message: `${facts.hostname || "host"} joined from ${rec.advertiseAddr}`, actor: spend.tokenId },
    );
    // Lost a race for the token's last use (or, vanishingly, the id): the caller may retry.
    if (!ok) throw new GrpcError(grpc.status.ABORTED, "the join token changed concurrently; try again");
    d.log.info({ host: id, hostname: facts.hostname, addr: rec.advertiseAddr, token: spend.tokenId }, "host joined");
    return { host_id: id, certificate_pem: certPem, ca_pem: caBundlePem(d) };
  }

  /**
   * `berth agent --rejoin`: a known host whose certificate expired while its agent
   * was off joins again with a join token and keeps its id, its labels, its claims
   * and whatever it runs. Refused for a host that is connected (its certificate
   * works: nothing to mend) or that is not known (removed: join as a new host).
   */
  async function readmit(req: JoinRequest__Output, facts: HostFacts__Output, labels: Record<string, string>): Promise<JoinResponse> {
    const id = req.host_id;
    if (!isValidHostId(id)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `host_id: "${id.slice(0, 64)}" is not a host id`);
    const spend = await d.tokens.prepareJoin(req.token);
    if (!d.registry.get(id)) throw new GrpcError(grpc.status.NOT_FOUND, `host_id: no host ${id} is known to this controller (removed, or never joined here): join without --rejoin, as a new host`);
    if (d.registry.live.get(id)?.disconnect) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `host ${id} is connected now with a valid certificate: --rejoin is for a host whose certificate expired`);
    const { certPem, certCa } = await sign(req.csr_pem, id);
    const issued = certFacts(certPem);
    await d.registry.update(
      id,
      (rec) => ({
        // The old certificate (expired, or taken) is not kept acceptable: the re-join replaces it.
        // Nor does a renewal's unconfirmed mark outlive it: a join's certificate is the agent's once it connects with it.
        rec: { ...rec, facts, labels: Object.keys(labels).length ? labels : rec.labels, certSerial: issued.serial, prevCertSerial: undefined, prevCertNotAfterMs: undefined, certNotAfterMs: issued.notAfterMs, certCa, certUnconfirmed: undefined },
        event: { type: "host.rejoined", host: id, message: `${facts.hostname || "host"} re-joined keeping its id (new certificate until ${new Date(issued.notAfterMs).toISOString()})`, actor: spend.tokenId },
      }),
      undefined,
      { compares: [spend.compare], ops: [spend.op] },
    );
    d.log.info({ host: id, hostname: facts.hostname, token: spend.tokenId }, "host re-joined keeping its id");
    return { host_id: id, certificate_pem: certPem, ca_pem: caBundlePem(d) };
  }

  return {
    async Join(call, callback) {
      try {
        const req = call.request;
        const facts = validateFacts(req.facts ?? {}, "facts");
        const labels = validateLabels(req.labels ?? {}, "labels");
        const advertise = validateAdvertiseAddr(req.advertise_addr ?? "", "advertise_addr");
        if (req.csr_pem.length > 16_384) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "csr_pem: larger than 16 KiB");
        const res = await serialized(req.token.slice(0, 256), () => (req.host_id ? readmit(req, facts, labels) : admit(req, call.getPeer(), facts, labels, advertise)));
        callback(null, res);
      } catch (err) {
        const s = toStatus(err);
        if (s.internal) d.log.error({ err }, "join failed");
        else d.log.warn({ peer: call.getPeer(), reason: s.details }, "join refused");
        callback(serviceError(err));
      }
    },

    Connect: connectHandler(d),

    FetchArtifact(call) {
      const who = certHost(d, call);
      const fail = (code: grpc.status, details: string): void => failStream(call, code, details);
      if ("refuse" in who) return fail(who.refuse.code, who.refuse.details);
      const sha = call.request.sha256;
      const open = fetching.get(who.hostId) ?? 0;
      if (open >= MAX_FETCHES_PER_HOST) return fail(grpc.status.RESOURCE_EXHAUSTED, `host ${who.hostId} has ${open} artifact downloads open already, the most one host may: finish or cancel one first`);
      fetching.set(who.hostId, open + 1);
      void (async () => {
        try {
          // In a group, one this member lacks is fetched from a member that has it first.
          const size = /^[0-9a-f]{64}$/.test(sha) ? await (d.ensureArtifact ? d.ensureArtifact(sha) : d.artifacts.size(sha)) : undefined;
          if (size === undefined) return fail(grpc.status.NOT_FOUND, `no artifact ${sha.slice(0, 64)}`);
          await streamArtifact(call, d.artifacts, sha, size);
        } catch (err) {
          d.log.warn({ err, host: who.hostId }, "artifact fetch failed");
          // No good copy from another member (the agent tries again); anything else is ours.
          if (err instanceof ArtifactError) fail(grpc.status.UNAVAILABLE, err.message);
          else fail(grpc.status.INTERNAL, "reading the artifact failed");
        } finally {
          const left = (fetching.get(who.hostId) ?? 1) - 1;
          if (left > 0) fetching.set(who.hostId, left);
          else fetching.delete(who.hostId);
        }
      })();
    },
  };
}
