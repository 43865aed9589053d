/**
 * What an agent is told to trust, and how soon it should renew: from the CA
 * record during a rotation (controller/pki/ca-keeper.ts), else the one CA the
 * member signs with.
 */
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import { caFingerprint } from "../../../shared/tls/pki.js";
import type { AgentServiceDeps } from "./deps.js";

type TrustDeps = Pick<AgentServiceDeps, "ca" | "trust">;

/** The CA certificates a client certificate may chain to now. */
export function trustedCas(d: TrustDeps): string[] {
  return d.trust?.trusted() ?? [d.ca.certPem];
}

/** The trust bundle sent with every certificate and in TrustBundle. */
export function caBundlePem(d: TrustDeps): string {
  return d.trust?.bundlePem() ?? d.ca.certPem;
}

/** Fingerprint of the CA certificates are signed with now: stored in the host record beside the serial (HostRecord.certCa). */
export function signerFingerprint(d: TrustDeps): string {
  return d.trust?.signingFingerprint() ?? caFingerprint(d.ca.certPem);
}

/** The TrustBundle every agent is sent: the bundle, and during a rotation how soon one on an old CA renews. */
export function trustBundle(d: TrustDeps): ControllerMessage {
  return { trust_bundle: { ca_pem: caBundlePem(d), renew_within_ms: d.trust?.renewWithinMs() ?? 0 } };
}
