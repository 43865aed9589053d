/**
 * RenewCertificate: an agent on its mutual-TLS stream asks for a fresh certificate
 * for a fresh key. The CSR is untrusted input: it must be a P-256 key the agent
 * proves it holds, asking in its own host's name and for nothing else
 * (signHostCsr's subjectMustBe). The record then names the new serial, keeping the
 * one it replaces acceptable until that one expires (HostRecord.prevCertSerial),
 * and the agent gets the certificate and the CAs to trust. Nothing else changes:
 * the stream, the host's health and its instance are untouched.
 *
 * The answer can be lost with its stream (a controller that stops, a cut link)
 * after the record names the new serial. So the record marks it unconfirmed until
 * the agent says it stored it (CertificateStored) or presents it on a connection
 * (hello.ts); and a renewal asked while the last one is unconfirmed keeps, as the
 * one still accepted, the certificate this stream presented — the one the agent
 * provably holds — not the one it may never have received.
 */
import type { CertificateStored__Output } from "../../../shared/gen/berth/v1/CertificateStored.js";
import type { RenewCertificate__Output } from "../../../shared/gen/berth/v1/RenewCertificate.js";
import type { HostRecord } from "../../hosts/host.js";
import { InvalidCsrError, MAX_CSR_PEM_BYTES, signHostCsr } from "../../../shared/tls/pki.js";
import { certFacts } from "../../../shared/tls/cert-life.js";
import type { AgentServiceDeps } from "./deps.js";
import { isCurrent, type AgentStream } from "./stream.js";
import { caBundlePem, signerFingerprint } from "./trust.js";

/** Renewals in flight, by stream: one at a time per stream, so an agent cannot queue up signing work. */
const busy = new WeakSet<AgentStream>();

export async function onRenewCertificate(d: AgentServiceDeps, s: AgentStream, m: RenewCertificate__Output): Promise<void> {
  const refuse = (error: string): void => {
    s.log.warn({ reason: error }, "certificate renewal refused");
    s.send({ certificate_issued: { certificate_pem: "", ca_pem: "", error } });
  };
  if (!s.greeted) return refuse("renew_certificate before hello");
  if (busy.has(s)) return refuse("a renewal is already in progress on this stream");
  if (typeof m.csr_pem !== "string" || Buffer.byteLength(m.csr_pem, "utf8") > MAX_CSR_PEM_BYTES) return refuse(`renew_certificate.csr_pem: larger than ${MAX_CSR_PEM_BYTES} bytes`);
  busy.add(s);
  try {
    let certPem: string;
    // Read before signing: the fingerprint stored must be that of the CA that signs (a rotation may start meanwhile).
    const signer = { certPem: d.ca.certPem, keyPem: d.ca.keyPem };
    const certCa = signerFingerprint({ ca: signer });
    try {
      certPem = await signHostCsr(signer, m.csr_pem, s.hostId, { validityMs: d.certTtlMs, subjectMustBe: s.hostId });
    } catch (e) {
      if (e instanceof InvalidCsrError) return refuse(`renew_certificate.csr_pem: ${e.message}`);
      throw e;
    }
    const issued = certFacts(certPem);
    // A stream this member no longer holds for the host (it ended, or a newer one replaced it) gets nothing: its
    // answer could not arrive, and its record would overwrite what the host's current stream renewed meanwhile.
    let gone = false;
    await d.registry.update(s.hostId, (rec) => {
      gone = !isCurrent(d, s);
      return gone ? undefined : { rec: renewedRecord(rec, s.certSerial, issued, certCa) };
    });
    if (gone) return s.log.info("certificate renewal dropped: its stream is gone");
    s.log.info({ serial: issued.serial, notAfter: new Date(issued.notAfterMs).toISOString() }, "host certificate renewed");
    s.send({ certificate_issued: { certificate_pem: certPem, ca_pem: caBundlePem(d), error: "" } });
  } finally {
    busy.delete(s);
  }
}

/**
 * The host record after a renewal issued `issued` to a stream that authenticated
 * with `presented`: the new serial, unconfirmed; the one still accepted is the
 * certificate the agent holds for sure.
 */
export function renewedRecord(rec: HostRecord, presented: string, issued: { serial: string; notAfterMs: number }, certCa: string): HostRecord {
  const lostAnswer = rec.certUnconfirmed === true && presented === rec.prevCertSerial;
  return {
    ...rec,
    certSerial: issued.serial,
    prevCertSerial: lostAnswer ? rec.prevCertSerial : rec.certSerial,
    prevCertNotAfterMs: lostAnswer ? rec.prevCertNotAfterMs : rec.certNotAfterMs,
    certNotAfterMs: issued.notAfterMs,
    certCa,
    certUnconfirmed: true,
  };
}

/** The host record once the agent holds certSerial (it said so, or presented it); undefined when nothing changes. */
export function confirmedRecord(rec: HostRecord, serial: string): HostRecord | undefined {
  if (!rec.certUnconfirmed || serial !== rec.certSerial) return undefined;
  const { certUnconfirmed: _, ...rest } = rec;
  return rest;
}

/** CertificateStored: the agent stored the certificate it was issued; a rotation may count it now. */
export async function onCertificateStored(d: AgentServiceDeps, s: AgentStream, m: CertificateStored__Output): Promise<void> {
  if (!s.greeted || typeof m.serial !== "string") return;
  await d.registry.update(s.hostId, (rec) => {
    const next = confirmedRecord(rec, m.serial);
    return next ? { rec: next } : undefined;
  });
}
