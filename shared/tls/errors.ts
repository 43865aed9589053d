/**
 * Named errors of the PKI layer, so callers (join handler, agent, CLI) can map
 * them to clear messages with `instanceof` instead of matching message text.
 */

/** A CSR that is malformed, oversized, badly signed or not ECDSA P-256. */
export class InvalidCsrError extends Error {
  override readonly name = "InvalidCsrError";
}

/** A host id the controller refuses to put into a certificate (charset/length). */
export class InvalidHostIdError extends Error {
  override readonly name = "InvalidHostIdError";
}

/**
 * First contact: the controller did not present a CA whose fingerprint matches the
 * one in the join token (wrong controller, man in the middle, or a server that
 * sends only its leaf certificate).
 */
export class CaMismatchError extends Error {
  override readonly name = "CaMismatchError";
}

/** First contact: the TLS handshake did not complete in time. */
export class CaDiscoveryTimeoutError extends Error {
  override readonly name = "CaDiscoveryTimeoutError";
}
