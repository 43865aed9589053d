/**
 * When a certificate is renewed, and when one is "about to expire": pure functions
 * of its validity window and `now`, so they are tested with an injected clock.
 *
 * Renewal is at about two thirds of the life (kubelet renews between 70 and 90 %),
 * spread by a jitter so hosts joined on the same day do not all renew in the same
 * second. Worked example, a 30-day certificate: renewal falls between day 18.5 and
 * day 21.5 (2/3 ± 1/20 of the life), leaving at least eight days to retry in.
 */
import { X509Certificate } from "node:crypto";

/** Share of the life at which a certificate is renewed, before jitter. */
export const RENEW_AT_SHARE = 2 / 3;
/** The jitter, as a share of the life, either way around RENEW_AT_SHARE. */
export const RENEW_JITTER_SHARE = 1 / 20;
/** A certificate this close to its end is announced (event, `berth hosts`). */
export const EXPIRY_WARNING_MS = 7 * 24 * 60 * 60 * 1000;

export interface Validity {
  notBeforeMs: number;
  notAfterMs: number;
}

/**
 * How long from `nowMs` until the certificate should be renewed: 0 when that
 * moment has passed (an agent that was off for a while renews at once).
 * `random` is in [0, 1): 0.5 is the middle of the jitter window.
 */
export function renewDelayMs(v: Validity, nowMs: number, random: number): number {
  const life = Math.max(0, v.notAfterMs - v.notBeforeMs);
  const share = RENEW_AT_SHARE + (2 * Math.min(Math.max(random, 0), 1) - 1) * RENEW_JITTER_SHARE;
  const at = v.notBeforeMs + Math.floor(life * share);
  return Math.max(0, at - nowMs);
}

/** After a failed renewal: try again in a tenth of what is left of the life, between 1 s and 1 h. */
export function renewRetryMs(v: Validity, nowMs: number): number {
  return Math.min(3_600_000, Math.max(1000, Math.floor((v.notAfterMs - nowMs) / 10)));
}

export type ExpiryState = "valid" | "expiring" | "expired";

/** valid; expiring within EXPIRY_WARNING_MS; or expired. */
export function expiryState(notAfterMs: number, nowMs: number, warnMs = EXPIRY_WARNING_MS): ExpiryState {
  if (nowMs >= notAfterMs) return "expired";
  return notAfterMs - nowMs <= warnMs ? "expiring" : "valid";
}

export interface CertFacts extends Validity {
  /** Upper-case hex, as node:crypto writes it (and HostRecord.certSerial holds). */
  serial: string;
  /** The subject of the issuer, to tell which CA signed it. */
  issuer: string;
}

/** Reads a PEM certificate's validity and serial; throws when it is unreadable. */
export function certFacts(pem: string | Buffer): CertFacts {
  const c = new X509Certificate(pem);
  return { notBeforeMs: Date.parse(c.validFrom), notAfterMs: Date.parse(c.validTo), serial: c.serialNumber, issuer: c.issuer };
}
