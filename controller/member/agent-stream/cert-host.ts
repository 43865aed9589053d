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

/**
 * "ipv4:10.0.0.2:5000", "10.0.0.2:5000", "[::1]:5000", and IPv6 without brackets as grpc-js's
 * getPeer and HAProxy's `src:src_port` give it ("2001:db8::7:41000") → the address part; an
 * IPv4 client of a dual-stack listener ("::ffff:10.0.0.2:41000") → its IPv4 address.
 */
export function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, "");
  const v6 = /^\[([^\]]+)\]/.exec(p);
  let host = v6 ? v6[1]! : p;
  if (!v6) {
    // The last ":digits" is the port, if any ("10.0.0.2" alone has none).
    const i = p.lastIndexOf(":");
    if (i >= 0 && /^\d+$/.test(p.slice(i + 1))) host = p.slice(0, i);
  }
  return host.replace(/^::ffff:(?=\d+\.)/i, "");
}
