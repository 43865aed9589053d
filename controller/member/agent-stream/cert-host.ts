/** Authenticates an agent's call by the client certificate issued at join. */
import * as grpc from "@grpc/grpc-js";
import { peerCertificate, verifyClientCertAny } from "../../../shared/tls/pki.js";
import type { AgentServiceDeps } from "./deps.js";
import { trustedCas } from "./trust.js";

/** The host a call comes from, or a refusal when it has no valid certificate of a known host. */
export function certHost(d: Pick<AgentServiceDeps, "ca" | "trust" | "now" | "registry" | "revoked">, call: { getAuthContext?: () => unknown }): { hostId: string; serial: string } | { refuse: { code: grpc.status; details: string; removed?: boolean } } {
  const der = peerCertificate(call);
  if (!der) return { refuse: { code: grpc.status.UNAUTHENTICATED, details: "a client certificate is required: join first with a token" } };
  // Both CAs during a rotation; the new one alone once the old is retired.
  const verdict = verifyClientCertAny(trustedCas(d), der, new Date(d.now()));
  if (!verdict.ok) return { refuse: { code: grpc.status.UNAUTHENTICATED, details: `client certificate refused: ${verdict.reason}` } };
  const serial = verdict.serial;
  // Before the record: a removed host has none, and must hear that it was removed, not "join again".
  const revoked = d.revoked?.get(serial);
  if (revoked) {
    return { refuse: { code: grpc.status.PERMISSION_DENIED, removed: true, details: `host ${revoked.hostId} was removed at ${new Date(revoked.revokedAtMs).toISOString()} (berth host remove): its certificate is refused` } };
  }
  const stored = d.registry.get(verdict.hostId);
  if (!stored) return { refuse: { code: grpc.status.PERMISSION_DENIED, details: `host ${verdict.hostId} is not known to this controller: join again` } };
  // The one a renewal replaced stays good until it expires (verifyClientCert checked that): the agent may not have switched yet.
  if (serial !== stored.certSerial && serial !== stored.prevCertSerial) return { refuse: { code: grpc.status.UNAUTHENTICATED, details: "client certificate was superseded" } };
  return { hostId: verdict.hostId, serial };
}

/** "ipv4:10.0.0.2:5000", "10.0.0.2:5000", "[::1]:5000" → the address part. */
export function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, "");
  const v6 = /^\[([^\]]+)\]/.exec(p);
  if (v6) return v6[1]!.replace(/^::ffff:/, "");
  return p.split(":")[0] ?? "";
}
