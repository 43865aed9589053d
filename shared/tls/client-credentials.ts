/**
 * The client side of berth's TLS: what a gRPC client of the controller needs,
 * and nothing of the PKI's issuing and checking (pki.ts, which re-exports these).
 * Kept apart so the CLI's operator commands do not load @peculiar/x509 to make
 * one call (README, "Performance").
 */
import * as grpc from "@grpc/grpc-js";

/** The DNS name every controller certificate carries and every client dials. */
export const CONTROLLER_TLS_NAME = "berth-controller";

/** The PEMs of a certificate and its key (pki.ts's CertAndKey). */
interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/** Client side; pass a host certificate for the mTLS stream, none for joining. */
export function grpcClientCredentials(caPem: string, cert?: CertAndKey): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    Buffer.from(caPem),
    cert ? Buffer.from(cert.keyPem) : null,
    cert ? Buffer.from(cert.certPem) : null,
  );
}

/**
 * gRPC keepalive pings on long calls, both ways: each side pings the other when
 * the connection has been quiet this long, and drops it when no answer comes in
 * KEEPALIVE_TIMEOUT_MS. A peer that vanished silently (a laptop asleep mid
 * `exec -it`, a host that lost power) is noticed within ~40 s, and its calls end.
 */
export const KEEPALIVE_MS = 30_000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;

/**
 * A client of a controller (the CLI, a member relaying to another) pings sooner: in a group,
 * a member that froze or vanished must be left about as fast as agents leave it (their
 * watchdog: one TTL, 5 s by default), not 40 s later — a `-w` watch, `events -f`, or a `berth lb`
 * follower on it would show a world that no longer is, while the leader goes on without it.
 * Noticed within ~10 s; the watch then follows on through another member. (grpc-js servers set no
 * minimum time between a client's pings, unlike gRPC core's 5 min default.)
 */
export const CLIENT_KEEPALIVE_MS = 5_000;
export const CLIENT_KEEPALIVE_TIMEOUT_MS = 5_000;

/**
 * Every client dials the controller's address but checks its certificate against
 * CONTROLLER_TLS_NAME, so the controller's certificate need not list every address
 * (namespaces, NAT) it is reached on.
 */
export function channelOptions(): {
  "grpc.ssl_target_name_override": string;
  "grpc.default_authority": string;
} {
  return {
    "grpc.ssl_target_name_override": CONTROLLER_TLS_NAME,
    "grpc.default_authority": CONTROLLER_TLS_NAME,
  };
}
