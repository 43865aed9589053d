/**
 * The agent's certificate renewal: at about two thirds of the certificate's life
 * (shared/tls/cert-life.ts) it makes a fresh key, sends a CSR for it on the open
 * stream (RenewCertificate), checks what comes back and stores it atomically
 * (agent/identity.ts saveRenewal), then tells the controller it did
 * (CertificateStored). The stream it asked on carries on with the old
 * certificate — TLS checks a certificate only at the handshake — and the next
 * connection uses the new one: nothing the operator sees happens.
 *
 * Not connected when it is due: it asks on the next stream (connected()). No
 * answer, or a refusal: it tries again after a tenth of the remaining life.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { AgentMessage } from "../../shared/gen/berth/v1/AgentMessage.js";
import type { CertificateIssued__Output } from "../../shared/gen/berth/v1/CertificateIssued.js";
import type { Logger } from "../../shared/log/logger.js";
import { certFacts, renewDelayMs, renewRetryMs } from "../../shared/tls/cert-life.js";
import { createKeyAndCsr, verifyClientCert } from "../../shared/tls/pki.js";
import { setTimeoutClamped } from "../../shared/timer.js";

/** A trust bundle is a few CAs (the current one, and the next during a rotation); more is not ours. */
export const MAX_CA_BUNDLE_BYTES = 64 * 1024;
const MAX_CA_CERTS = 8;

export interface Credentials {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export interface RenewalDeps {
  hostId: string;
  current: () => Credentials;
  /** Sends on the current stream; false when there is none. */
  send: (m: AgentMessage) => boolean;
  save: (c: Credentials) => Promise<void>;
  /** The new credentials are stored: the next connection uses them. */
  renewed: (c: Credentials & { serial: string; notAfterMs: number }) => void;
  log: Logger;
  /** Wall clock: certificate validity is wall time. @default Date.now */
  wall?: () => number;
  /** Picks the moment within the jitter window. @default Math.random */
  random?: () => number;
  /** How long to wait for CertificateIssued. @default 30 s */
  answerTimeoutMs?: number;
}

/** The PEM certificates of a bundle, in order. */
export function splitPemBundle(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * What the controller sent, checked as any outside input: a certificate for this
 * host, for the key the agent just made, signed by one of the CAs it sends to trust.
 * Returns why not, or undefined when it is good.
 */
export function checkIssued(hostId: string, keyPem: string, certPem: string, caPem: string, nowMs: number): string | undefined {
  if (!certPem) return "certificate_pem is empty";
  const bad = checkCaBundle(caPem);
  if (bad) return bad;
  const cas = splitPemBundle(caPem);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return "certificate_pem is not a certificate";
  }
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return "certificate_pem is not for the key this agent sent";
  const verdicts = cas.map((ca) => verifyClientCert(ca, certPem, new Date(nowMs)));
  const ok = verdicts.find((v) => v.ok);
  if (!ok) return `certificate_pem does not verify: ${verdicts.map((v) => (v.ok ? "" : v.reason)).join("; ")}`;
  if (ok.ok && ok.hostId !== hostId) return `certificate_pem names host ${ok.hostId}, not ${hostId}`;
  return undefined;
}

/** A trust bundle as any outside input: 1 to 8 readable CA certificates, not too large. Returns why not, or undefined. */
export function checkCaBundle(caPem: string): string | undefined {
  if (typeof caPem !== "string" || Buffer.byteLength(caPem, "utf8") > MAX_CA_BUNDLE_BYTES) return `ca_pem is larger than ${MAX_CA_BUNDLE_BYTES} bytes`;
  const cas = splitPemBundle(caPem);
  if (cas.length === 0 || cas.length > MAX_CA_CERTS) return `ca_pem must hold 1 to ${MAX_CA_CERTS} certificates, has ${cas.length}`;
  for (const ca of cas) {
    try {
      if (!new X509Certificate(ca).ca) return "ca_pem holds a certificate that is not a CA";
    } catch {
      return "ca_pem holds an unreadable certificate";
    }
  }
  return undefined;
}

/**
 * Whether a certificate is signed by the newest CA of a bundle (its last: the
 * controller lists the old CA first during a rotation, controller/pki/ca-record.ts).
 */
export function signedByNewest(certPem: string, caPem: string): boolean {
  const newest = splitPemBundle(caPem).at(-1);
  if (newest === undefined) return false;
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(newest);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

export class CertRenewal {
  private timer: NodeJS.Timeout | undefined;
  /** When the planned renewal is due (wall ms), while one is planned. */
  private dueAtMs: number | undefined;
  private pending: { keyPem: string; timeout: NodeJS.Timeout } | undefined;
  /** Storing what an answer brought: no second renewal meanwhile, or the controller would stop accepting the one stored. */
  private saving = false;
  /** The serial last stored, told to the controller on every stream (CertificateStored is idempotent): the word sent as it was stored may have found no stream. */
  private storedSerial: string | undefined;
  private stopped = false;
  private readonly wall: () => number;
  private readonly random: () => number;

  constructor(private readonly d: RenewalDeps) {
    this.wall = d.wall ?? Date.now;
    this.random = d.random ?? Math.random;
  }

  /** When the planned renewal is due (wall ms); undefined while none is planned (asking, storing, disconnected). */
  get plannedAtMs(): number | undefined {
    return this.dueAtMs;
  }

  /** A stream was welcomed: (re)plan the renewal of the current certificate. */
  connected(): void {
    if (this.storedSerial !== undefined) this.d.send({ certificate_stored: { serial: this.storedSerial } });
    if (!this.pending && !this.saving) this.planIn(renewDelayMs(certFacts(this.d.current().certPem), this.wall(), this.random()));
  }

  /**
   * A CA rotation: the certificate is signed by a CA being retired; renew at a
   * random moment within `withinMs` (the spread keeps a fleet from renewing in one
   * second), unless a renewal is already asked for or planned sooner.
   */
  renewWithin(withinMs: number): void {
    if (this.pending || this.saving || this.stopped) return;
    const ms = Math.floor(this.random() * Math.max(0, withinMs));
    if (this.dueAtMs !== undefined && this.dueAtMs <= this.wall() + ms) return;
    this.d.log.info({ inMs: ms }, "the controller's CA is being rotated: renewing the host certificate onto the new CA");
    this.planIn(ms);
  }

  /** The stream is gone: an answer can no longer come; the next connected() plans again. */
  disconnected(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAtMs = undefined;
    this.clearPending();
  }

  stop(): void {
    this.stopped = true;
    this.disconnected();
  }

  private clearPending(): void {
    if (this.pending) clearTimeout(this.pending.timeout);
    this.pending = undefined;
  }

  private planIn(ms: number): void {
    clearTimeout(this.timer);
    this.dueAtMs = undefined;
    if (this.stopped) return;
    this.dueAtMs = this.wall() + ms;
    this.timer = setTimeoutClamped(() => {
      this.dueAtMs = undefined;
      void this.ask().catch((err: unknown) => this.failed(`making a key and CSR failed: ${String(err)}`));
    }, ms);
  }

  private retry(): void {
    this.planIn(renewRetryMs(certFacts(this.d.current().certPem), this.wall()));
  }

  private failed(reason: string): void {
    this.clearPending();
    this.d.log.warn({ reason }, "certificate renewal failed; trying again later");
    this.retry();
  }

  private async ask(): Promise<void> {
    if (this.pending || this.saving || this.stopped) return;
    // The CSR asks in this host's own name and for nothing else (the controller checks).
    const { keyPem, csrPem } = await createKeyAndCsr(this.d.hostId);
    if (this.stopped) return;
    const timeout = setTimeoutClamped(() => this.failed("no answer from the controller"), this.d.answerTimeoutMs ?? 30_000);
    this.pending = { keyPem, timeout };
    // Not connected: connected() plans again when a stream is welcomed.
    if (!this.d.send({ renew_certificate: { csr_pem: csrPem } })) this.clearPending();
    else this.d.log.info("renewing the host certificate");
  }

  /** CertificateIssued from the controller. */
  async answer(m: CertificateIssued__Output): Promise<void> {
    const p = this.pending;
    if (!p) return; // not asked for on this stream (or given up on): nothing to store
    if (m.error) return this.failed(`the controller refused it: ${m.error.slice(0, 300)}`);
    const why = checkIssued(this.d.hostId, p.keyPem, m.certificate_pem, m.ca_pem, this.wall());
    if (why) return this.failed(why);
    this.clearPending();
    const creds = { certPem: m.certificate_pem, keyPem: p.keyPem, caPem: m.ca_pem };
    this.saving = true;
    try {
      await this.d.save(creds);
    } catch (err) {
      return this.failed(`storing the new certificate failed: ${String(err)}`);
    } finally {
      this.saving = false;
    }
    const f = certFacts(creds.certPem);
    this.d.log.info({ serial: f.serial, notAfter: new Date(f.notAfterMs).toISOString() }, "host certificate renewed; the next connection uses it");
    this.d.renewed({ ...creds, serial: f.serial, notAfterMs: f.notAfterMs });
    // The controller counts it as this host's only once told (or shown at the next connection): a CA rotation waits for that.
    this.storedSerial = f.serial;
    this.d.send({ certificate_stored: { serial: f.serial } });
    this.planIn(renewDelayMs(f, this.wall(), this.random()));
  }
}
