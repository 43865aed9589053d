/**
 * berth's small PKI: the controller's CA, its server certificate, host client
 * certificates issued from agent CSRs, first-contact CA discovery, and the grpc-js
 * credentials that tie them together.
 *
 * Everything is ECDSA P-256 via @peculiar/x509 over Node's webcrypto (fast: a CA in
 * ~10 ms, a host cert in a few ms; node-forge has no ECDSA). Synchronous checks on
 * the request path (verifying a client certificate on every agent connect, reading
 * one) use node:crypto's X509Certificate, which is native; @peculiar/x509 only builds.
 *
 * All certificates and keys cross this API as PEM strings. @peculiar/x509 writes PEM
 * without a trailing newline, so concatenated PEMs must be joined with "\n" or
 * OpenSSL fails with "bad end line".
 */
import "reflect-metadata"; // @peculiar/x509 (tsyringe) needs it before it loads
import * as x509 from "@peculiar/x509";
import * as grpc from "@grpc/grpc-js";
import { createHash, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import * as tls from "node:tls";
import { CaDiscoveryTimeoutError, CaMismatchError, InvalidCsrError, InvalidHostIdError } from "./errors.js";

export { CaDiscoveryTimeoutError, CaMismatchError, InvalidCsrError, InvalidHostIdError } from "./errors.js";

x509.cryptoProvider.set(webcrypto);

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

import { CONTROLLER_TLS_NAME } from "./client-credentials.js";
export { CONTROLLER_TLS_NAME };

/** URI SAN prefix naming the host a client certificate belongs to. */
export const HOST_URI_PREFIX = "urn:berth:host:";

/** CSRs are a few hundred bytes; anything bigger is not ours and is not parsed. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

const EC_KEY_ALG = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN_ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
// Certificates start a minute in the past so a host whose clock is slightly behind
// the controller's does not reject a certificate it was just given — a tenth of the
// lifetime for short ones (a 20 s test certificate), so the backdating never eats
// the part of its life at which it is renewed.
const BACKDATE_MS = 60 * 1000;
const backdateMs = (validityMs: number): number => Math.min(BACKDATE_MS, Math.floor(validityMs / 10));

/** A host certificate's default lifetime: renewed at about two thirds of it (shared/tls/cert-life.ts). */
export const DEFAULT_HOST_CERT_TTL_MS = 30 * DAY_MS;

// Host ids go into a CN and a URN: keep them to a charset that needs no escaping
// anywhere (OpenSSL's subjectaltname text, URNs, file names, log lines).
const HOST_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function isValidHostId(hostId: string): boolean {
  return HOST_ID_RE.test(hostId);
}

// ---------------------------------------------------------------------------
// Issuing

export async function createCa(opts: { commonName?: string; validityDays?: number } = {}): Promise<CertAndKey> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    // JsonName form: a common name with "," or "=" cannot smuggle in other RDNs.
    name: [{ CN: [opts.commonName ?? "berth CA"] }],
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (opts.validityDays ?? 3650) * DAY_MS),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      // pathLen 0: this CA signs leaf certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * The controller's serving certificate. Callers include CONTROLLER_TLS_NAME in
 * dnsNames: clients dial with it as ssl_target_name_override, so the certificate
 * does not have to list every address the controller is reachable on.
 */
export async function createServerCert(
  ca: CertAndKey,
  opts: { dnsNames: string[]; ips: string[]; validityDays?: number },
): Promise<CertAndKey> {
  for (const ip of opts.ips) {
    if (isIP(ip) === 0) throw new RangeError(`ips: "${ip}" is not an IP address`);
  }
  if (opts.dnsNames.length + opts.ips.length === 0) throw new RangeError("dnsNames/ips: at least one name is required");
  const keys = await generateKeyPair();
  const cert = await issue(ca, {
    subjectCn: opts.dnsNames[0] ?? opts.ips[0] ?? CONTROLLER_TLS_NAME,
    publicKey: keys.publicKey,
    validityMs: (opts.validityDays ?? 825) * DAY_MS,
    eku: x509.ExtendedKeyUsage.serverAuth,
    san: [
      ...opts.dnsNames.map((value) => ({ type: "dns" as const, value })),
      ...opts.ips.map((value) => ({ type: "ip" as const, value })),
    ],
  });
  return { certPem: cert, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** A controller group member's identity in its client certificate: `urn:berth:member:<id>`. */
export const MEMBER_URI_PREFIX = "urn:berth:member:";
/** What a member's name may be (the CLI's --name): also what a member certificate may name. */
const MEMBER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * A member's client certificate for calls to the other members of its group
 * (member/peers.ts): issued by each member to itself from the group's CA, which
 * every member holds (the store shares it). Its identity is a member URI, never a
 * host one, so it cannot stand for a host, and a host's certificate cannot stand
 * for a member (verifyMemberCert).
 */
export async function createMemberCert(ca: CertAndKey, memberId: string, opts: { validityDays?: number } = {}): Promise<CertAndKey> {
  if (!MEMBER_ID_RE.test(memberId)) throw new RangeError(`member id "${memberId.slice(0, 80)}" must match ${MEMBER_ID_RE.source}`);
  const keys = await generateKeyPair();
  const cert = await issue(ca, {
    subjectCn: `berth-member-${memberId}`.slice(0, 64),
    publicKey: keys.publicKey,
    validityMs: (opts.validityDays ?? 825) * DAY_MS,
    eku: x509.ExtendedKeyUsage.clientAuth,
    san: [{ type: "url", value: MEMBER_URI_PREFIX + memberId }],
  });
  return { certPem: cert, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * Agent side of joining: a fresh key and a CSR for it. Only the CSR is sent; the
 * key stays on the host. hostHint is informational: the controller ignores the
 * CSR's subject and sets the identity itself (see signHostCsr).
 */
export async function createKeyAndCsr(hostHint: string): Promise<{ keyPem: string; csrPem: string }> {
  // A renewal asks in its host id's name (checked by signHostCsr's subjectMustBe).
  const keys = await generateKeyPair();
  // X.520 caps a CN at 64 characters; an empty CN is legal but unhelpful in logs.
  const cn = hostHint.slice(0, 64) || "berth-host";
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [cn] }],
    keys,
    signingAlgorithm: SIGN_ALG,
  });
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: csr.toString("pem") };
}

/**
 * Controller side of joining and renewing: checks the CSR (proof that the agent
 * holds the key) and issues a client certificate. Only the CSR's public key is
 * used; its extensions and attributes are ignored, so an agent cannot ask for a
 * CA bit or serverAuth, and the identity is the one given here.
 *
 * subjectMustBe (renewals): the CSR must ask in this host's name and for nothing
 * else — a CSR naming another host, or carrying a subjectAltName extension, is an
 * agent asking for what is not its own, and is refused rather than quietly fixed.
 */
export async function signHostCsr(
  ca: CertAndKey,
  csrPem: string,
  hostId: string,
  opts: { validityMs?: number; subjectMustBe?: string } = {},
): Promise<string> {
  if (!isValidHostId(hostId)) {
    throw new InvalidHostIdError(`host id "${hostId.slice(0, 80)}" must match ${HOST_ID_RE.source}`);
  }
  const csr = parseCsr(csrPem);
  requireP256(csr.publicKey, "CSR key");
  let signatureOk: boolean;
  try {
    signatureOk = await csr.verify();
  } catch (err) {
    throw new InvalidCsrError("CSR signature could not be checked", { cause: err });
  }
  if (!signatureOk) throw new InvalidCsrError("CSR signature does not match its public key");
  if (opts.subjectMustBe !== undefined) requireOwnIdentity(csr, opts.subjectMustBe);
  return issue(ca, {
    subjectCn: hostId,
    publicKey: csr.publicKey,
    validityMs: opts.validityMs ?? DEFAULT_HOST_CERT_TTL_MS,
    eku: x509.ExtendedKeyUsage.clientAuth,
    san: [{ type: "url", value: HOST_URI_PREFIX + hostId }],
  });
}

function requireOwnIdentity(csr: x509.Pkcs10CertificateRequest, hostId: string): void {
  const subject = csr.subjectName.toJSON();
  const cns = subject.flatMap((rdn) => rdn["CN"] ?? []);
  const others = subject.flatMap((rdn) => Object.keys(rdn)).filter((k) => k !== "CN");
  if (cns.length !== 1 || cns[0] !== hostId || others.length > 0) {
    throw new InvalidCsrError(`CSR subject must be exactly CN=${hostId} (this host), got "${csr.subject.slice(0, 120)}"`);
  }
  // berth's own CSRs carry no extensions: any (a subjectAltName, a CA bit) asks for more than the host's identity.
  const asked = csr.extensions.map((e) => (e.type === "2.5.29.17" ? "subjectAltName" : e.type));
  if (asked.length > 0) throw new InvalidCsrError(`CSR must not ask for extensions (${asked.join(", ")}): the controller sets the host's identity`);
}

interface IssueParams {
  subjectCn: string;
  publicKey: x509.PublicKey | webcrypto.CryptoKey;
  validityMs: number;
  eku: x509.ExtendedKeyUsage;
  san: { type: "dns" | "ip" | "url"; value: string }[];
}

interface Issuer {
  ca: CertAndKey;
  cert: x509.X509Certificate;
  key: Promise<webcrypto.CryptoKey>;
  aki: Promise<x509.AuthorityKeyIdentifierExtension>;
}

/**
 * The CA as issue() needs it, parsed and its key imported once: a join signs with it,
 * and importing the key again for each was a quarter of a join's signing. One CA
 * (the controller's) is kept; another one replaces it.
 */
let issuer: Issuer | undefined;
function issuerOf(ca: CertAndKey): Issuer {
  if (issuer && issuer.ca.certPem === ca.certPem && issuer.ca.keyPem === ca.keyPem) return issuer;
  const cert = new x509.X509Certificate(ca.certPem);
  const made: Issuer = { ca: { certPem: ca.certPem, keyPem: ca.keyPem }, cert, key: importPrivateKey(ca.keyPem), aki: x509.AuthorityKeyIdentifierExtension.create(cert.publicKey) };
  // A key that fails to import is not kept failing: the next call tries again.
  const forget = (): void => {
    if (issuer === made) issuer = undefined;
  };
  made.key.catch(forget);
  made.aki.catch(forget);
  issuer = made;
  return made;
}

async function issue(ca: CertAndKey, p: IssueParams): Promise<string> {
  const iss = issuerOf(ca);
  const caCert = iss.cert;
  const caKey = await iss.key;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [p.subjectCn] }],
    // The CA's own encoded Name, so issuer/subject compare byte for byte (checkIssued).
    issuer: caCert.subjectName,
    notBefore: new Date(now - backdateMs(p.validityMs)),
    notAfter: new Date(now + p.validityMs),
    publicKey: p.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([p.eku], false),
      new x509.SubjectAlternativeNameExtension(p.san, false),
      await x509.SubjectKeyIdentifierExtension.create(p.publicKey),
      await iss.aki,
    ],
  });
  return cert.toString("pem");
}

function parseCsr(csrPem: string): x509.Pkcs10CertificateRequest {
  if (typeof csrPem !== "string" || csrPem.length === 0) throw new InvalidCsrError("CSR is empty");
  if (Buffer.byteLength(csrPem, "utf8") > MAX_CSR_PEM_BYTES) {
    throw new InvalidCsrError(`CSR is larger than ${MAX_CSR_PEM_BYTES} bytes`);
  }
  let blocks: ReturnType<typeof x509.PemConverter.decodeWithHeaders>;
  try {
    blocks = x509.PemConverter.decodeWithHeaders(csrPem);
  } catch (err) {
    throw new InvalidCsrError("CSR is not valid PEM", { cause: err });
  }
  const [block, ...rest] = blocks;
  if (!block || rest.length > 0 || block.type !== "CERTIFICATE REQUEST") {
    throw new InvalidCsrError('CSR must be exactly one PEM block of type "CERTIFICATE REQUEST"');
  }
  try {
    return new x509.Pkcs10CertificateRequest(block.rawData);
  } catch (err) {
    throw new InvalidCsrError("CSR is not a valid PKCS#10 request", { cause: err });
  }
}

function requireP256(key: x509.PublicKey, what: string): void {
  let alg: webcrypto.Algorithm | webcrypto.EcKeyAlgorithm;
  try {
    alg = key.algorithm;
  } catch (err) {
    throw new InvalidCsrError(`${what} uses an unsupported algorithm`, { cause: err });
  }
  const curve = "namedCurve" in alg ? alg.namedCurve : undefined;
  if (alg.name !== "ECDSA" || curve !== "P-256") {
    throw new InvalidCsrError(`${what} must be ECDSA P-256, got ${alg.name}${typeof curve === "string" ? ` ${curve}` : ""}`);
  }
}

async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  // Extractable so the key can be written out as PEM (it is only ever stored locally).
  return webcrypto.subtle.generateKey(EC_KEY_ALG, true, ["sign", "verify"]);
}

async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

async function importPrivateKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(keyPem);
  return webcrypto.subtle.importKey("pkcs8", der, EC_KEY_ALG, false, ["sign"]);
}

/** 128 random bits, first byte in 0x40..0x7f: positive and always 16 bytes long. */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x3f) | 0x40;
  return b.toString("hex");
}

// ---------------------------------------------------------------------------
// Reading and verifying

/** DER of a certificate given as PEM text, DER bytes or PEM bytes. Throws if unreadable. */
function toDer(cert: string | Buffer): Buffer {
  return new X509Certificate(cert).raw;
}

/** OIDs of the extended key usages berth issues (RFC 5280 4.2.1.12). */
const EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/**
 * The URI entries of a certificate's subjectAltName, as node:crypto writes it:
 * `URI:urn:…, DNS:name`, where a value holding a comma, quote or other special
 * character is a JSON string (`URI:"a, b"`) — read as such, so no part of a
 * quoted value passes for an entry of its own.
 */
export function sanUris(subjectAltName: string | undefined): string[] {
  const out: string[] = [];
  const s = subjectAltName ?? "";
  let i = 0;
  while (i < s.length) {
    const colon = s.indexOf(":", i);
    if (colon < 0) break;
    const type = s.slice(i, colon);
    let value: string;
    let next: number;
    if (s[colon + 1] === '"') {
      // JSON string: find its closing quote, skipping escaped characters.
      let j = colon + 2;
      while (j < s.length && s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(s.slice(colon + 1, j + 1)) as string;
      } catch {
        return out;
      }
      next = s.indexOf(", ", j + 1);
    } else {
      next = s.indexOf(", ", colon + 1);
      value = s.slice(colon + 1, next < 0 ? s.length : next);
    }
    if (type === "URI") out.push(value);
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

/** The one id a certificate's URI SANs name under `prefix`, or undefined (none, or more than one). */
function uriId(cert: X509Certificate, prefix: string): string | undefined {
  const ids = new Set(
    sanUris(cert.subjectAltName)
      .filter((u) => u.startsWith(prefix))
      .map((u) => u.slice(prefix.length)),
  );
  // Exactly one identity, or none: a certificate naming two is not one we issued.
  if (ids.size !== 1) return undefined;
  const [id] = ids;
  return id;
}

function hostIdOf(cert: X509Certificate): string | undefined {
  const id = uriId(cert, HOST_URI_PREFIX);
  return id !== undefined && isValidHostId(id) ? id : undefined;
}

function hasEku(cert: X509Certificate, oid: string): boolean {
  // node:crypto names it keyUsage; it is the extended key usage (undefined without the extension).
  return (cert.keyUsage as string[] | undefined)?.includes(oid) ?? false;
}

/**
 * Parsed CA certificates by PEM: every agent connect checks its certificate
 * against the trusted CAs (one, two during a rotation), which change rarely.
 * Bounded; a CA rotation adds one.
 */
const caCache = new Map<string, X509Certificate>();
const CA_CACHE_MAX = 8;
function parsedCa(pem: string): X509Certificate {
  let ca = caCache.get(pem);
  if (!ca) {
    ca = new X509Certificate(pem);
    if (caCache.size >= CA_CACHE_MAX) caCache.delete(caCache.keys().next().value as string);
    caCache.set(pem, ca);
  }
  return ca;
}

/** The host id in a certificate's `urn:berth:host:` URI SAN, or undefined. Does not verify anything. */
export function hostIdFromCert(certPemOrDer: string | Buffer): string | undefined {
  try {
    return hostIdOf(new X509Certificate(certPemOrDer));
  } catch {
    return undefined;
  }
}

export type ClientCertVerdict = { ok: true; hostId: string; serial: string } | { ok: false; reason: string };

/**
 * Full check of a client certificate against the controller CA, done by every
 * handler that needs a host identity. The TLS layer requests but does not require
 * client certificates (see grpcServerCredentials), so this is the authorization
 * point. Synchronous and native (node:crypto) so it is cheap per call.
 */
export function verifyClientCert(
  caCertPem: string,
  peerCertDerOrPem: Buffer | string,
  now: Date = new Date(),
): ClientCertVerdict {
  const checked = verifyIssued(caCertPem, peerCertDerOrPem, now);
  if (!checked.ok) return checked;
  const hostId = hostIdOf(checked.cert);
  if (hostId === undefined) return { ok: false, reason: `client certificate has no single ${HOST_URI_PREFIX}<id> URI SAN` };
  return { ok: true, hostId, serial: checked.cert.serialNumber };
}

export type MemberCertVerdict = { ok: true; memberId: string } | { ok: false; reason: string };

/**
 * verifyClientCert for a member's certificate (createMemberCert): the member it
 * names. Any of the CAs given may have issued it (both, during a CA rotation).
 */
export function verifyMemberCert(caCertPems: string | readonly string[], peerCertDerOrPem: Buffer | string, now: Date = new Date()): MemberCertVerdict {
  const reasons: string[] = [];
  for (const caPem of typeof caCertPems === "string" ? [caCertPems] : caCertPems) {
    const v = verifyMemberCertBy(caPem, peerCertDerOrPem, now);
    if (v.ok) return v;
    if (!reasons.includes(v.reason)) reasons.push(v.reason);
  }
  return { ok: false, reason: reasons.join("; ") || "no CA is trusted" };
}

function verifyMemberCertBy(caCertPem: string, peerCertDerOrPem: Buffer | string, now: Date): MemberCertVerdict {
  const checked = verifyIssued(caCertPem, peerCertDerOrPem, now);
  if (!checked.ok) return checked;
  const id = uriId(checked.cert, MEMBER_URI_PREFIX);
  // A host's certificate never carries a member URI (signHostCsr sets the SAN); one carrying both is not ours.
  if (id === undefined || !MEMBER_ID_RE.test(id) || hostIdOf(checked.cert) !== undefined) return { ok: false, reason: `client certificate has no single ${MEMBER_URI_PREFIX}<id> URI SAN` };
  return { ok: true, memberId: id };
}

/**
 * Issued by the CA, in its validity period, for clientAuth: what every client
 * certificate must be. node:crypto only (native, ~0.5 ms a parse where
 * @peculiar/x509 took ~6 ms of main thread): it runs on every agent connect.
 */
function verifyIssued(caCertPem: string, peerCertDerOrPem: Buffer | string, now: Date): { ok: true; cert: X509Certificate } | { ok: false; reason: string } {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = parsedCa(caCertPem);
  } catch {
    return { ok: false, reason: "controller CA certificate is unreadable" };
  }
  try {
    cert = new X509Certificate(peerCertDerOrPem);
  } catch {
    return { ok: false, reason: "client certificate is not a valid X.509 certificate" };
  }
  if (cert.ca) return { ok: false, reason: "client certificate is a CA certificate" };
  if (!cert.checkIssued(ca)) return { ok: false, reason: "client certificate was not issued by this controller's CA" };
  if (!cert.verify(ca.publicKey)) {
    return { ok: false, reason: "client certificate signature does not verify against this controller's CA" };
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) return { ok: false, reason: "client certificate could not be parsed" };
  if (now < notBefore) return { ok: false, reason: `client certificate is not valid before ${notBefore.toISOString()}` };
  if (now > notAfter) return { ok: false, reason: `client certificate expired at ${notAfter.toISOString()}` };
  if (!hasEku(cert, EKU_CLIENT_AUTH)) {
    return { ok: false, reason: "client certificate lacks the clientAuth extended key usage" };
  }
  return { ok: true, cert };
}

/**
 * verifyClientCert against each CA trusted now (one, or two during a CA
 * rotation): the first that accepts it, else every CA's reason.
 */
export function verifyClientCertAny(caCertPems: readonly string[], peerCertDerOrPem: Buffer | string, now: Date = new Date()): ClientCertVerdict & { caPem?: string } {
  const reasons: string[] = [];
  for (const caPem of caCertPems) {
    const v = verifyClientCert(caPem, peerCertDerOrPem, now);
    if (v.ok) return { ...v, caPem };
    if (!reasons.includes(v.reason)) reasons.push(v.reason);
  }
  return { ok: false, reason: reasons.join("; ") || "no CA is trusted" };
}

/** Lowercase hex SHA-256 of the CA certificate's DER: the pin embedded in join tokens. */
export function caFingerprint(caCertPem: string): string {
  // Asked on every join and renewal, of the one CA the controller signs with: parsing
  // it each time was ~1 ms of a join. One entry: a CA changes only with a rotation.
  if (lastFingerprint?.pem !== caCertPem) lastFingerprint = { pem: caCertPem, fp: sha256Hex(toDer(caCertPem)) };
  return lastFingerprint.fp;
}
let lastFingerprint: { pem: string; fp: string } | undefined;

function sha256Hex(der: Buffer): string {
  return createHash("sha256").update(der).digest("hex");
}

/** Accepts "ab12…", "AB:12:…" and "sha256:ab12…" (the form kubeadm prints). */
function normalizeFingerprint(fp: string): string {
  return fp.trim().toLowerCase().replace(/^sha256:/, "").replaceAll(":", "");
}

// ---------------------------------------------------------------------------
// First contact

/**
 * Fetches the controller's CA before the agent trusts anything, pinned by the
 * fingerprint from the join token (like kubeadm's discovery-token-ca-cert-hash).
 *
 * The handshake runs unverified (rejectUnauthorized: false) because the agent has
 * no CA yet; trust comes from the pin: the chain must contain a CA certificate with
 * exactly that fingerprint, and the server leaf must be signed by it and be a
 * serverAuth certificate for CONTROLLER_TLS_NAME (host client certificates come
 * from the same CA, so "signed by the CA" alone would let one host impersonate the
 * controller). TLS itself proves the server holds the leaf's private key.
 *
 * Node only lists certificates the server actually sent (plus roots from its own
 * store), so the controller MUST serve leaf + CA as its chain:
 * `certChainPem = leaf + "\n" + ca` (PEMs here end without a newline).
 * grpcServerCredentials does this for you.
 */
export function fetchServerCaPem(
  host: string,
  port: number,
  expectedFingerprint: string,
  timeoutMs = 5000,
): Promise<string> {
  const want = normalizeFingerprint(expectedFingerprint);
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const socket = tls.connect({
      host,
      port,
      servername: CONTROLLER_TLS_NAME,
      rejectUnauthorized: false,
      // The controller is an HTTP/2 server; offering h2 keeps the handshake ordinary.
      ALPNProtocols: ["h2"],
    });
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      return true;
    };
    const fail = (err: Error): void => {
      if (settle()) reject(err);
    };
    const timer = setTimeout(() => {
      fail(new CaDiscoveryTimeoutError(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      let pem: string;
      try {
        pem = pickPinnedCa(socket.getPeerCertificate(true), want);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (settle()) resolve(pem);
    });
    socket.once("error", fail);
    socket.once("close", () => fail(new Error(`connection to ${host}:${port} closed before the TLS handshake completed`)));
  });
}

function pickPinnedCa(peer: tls.DetailedPeerCertificate, want: string): string {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  // Node links the chain through issuerCertificate; a self-signed root links to itself.
  let node: tls.DetailedPeerCertificate | undefined = peer;
  while (node?.raw && chain.length < 10) {
    const fp = sha256Hex(node.raw);
    if (seen.has(fp)) break;
    seen.add(fp);
    chain.push(node.raw);
    node = node.issuerCertificate;
  }
  const [leafDer] = chain;
  const mismatch = (detail: string): CaMismatchError =>
    new CaMismatchError(`the controller's CA does not match the join token (sha256:${want}): ${detail}`);
  if (!leafDer) throw mismatch("the controller presented no certificate");
  const caDer = chain.find((der) => sha256Hex(der) === want);
  if (!caDer) {
    throw mismatch(
      `it presented ${[...seen].map((f) => f.slice(0, 16) + "…").join(", ")}` +
        " (wrong controller, an interception, or a controller not sending its CA in its chain)",
    );
  }
  const ca = new X509Certificate(caDer);
  if (!ca.ca) throw mismatch("the pinned certificate is not a CA");
  const leaf = new X509Certificate(leafDer);
  if (leafDer === caDer || !leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) {
    throw mismatch("the server certificate is not signed by the pinned CA");
  }
  if (!hasEku(leaf, EKU_SERVER_AUTH) || leaf.checkHost(CONTROLLER_TLS_NAME) === undefined) {
    throw mismatch(`the server certificate is not a serverAuth certificate for ${CONTROLLER_TLS_NAME}`);
  }
  return ca.toString().trimEnd();
}

// ---------------------------------------------------------------------------
// grpc-js credentials

/**
 * Server credentials that REQUEST a client certificate but do not REQUIRE one, so
 * the join call (bearer token, no certificate yet) and the mTLS agent stream share
 * one port; handlers then demand what they need (peerCertificate + verifyClientCert).
 *
 * Why a subclass: grpc-js 1.14 has no public switch for this.
 * - `ServerCredentials.createSsl(ca, pairs, true)` sets only `requestCert: true`; Node's
 *   server default `rejectUnauthorized: true` then fails the handshake of any client
 *   without a valid certificate ("certificate required", the client sees UNAVAILABLE).
 *   With `false` it never asks for a certificate, so nobody is identified.
 * - `experimental.createCertificateProviderServerCredentials` can express it, but it
 *   swaps its two provider arguments relative to their names, and providers must
 *   notify listeners asynchronously: fragile for static PEMs.
 * - `ServerCredentials` is an exported class whose constructor takes the
 *   http2.createSecureServer options and the secure-context options; grpc-js merges
 *   both into createSecureServer (server.js createHttp2Server) and accepts any
 *   `instanceof ServerCredentials`. One subclass states the options directly.
 *
 * Caveat (grpc-js server-interceptors getAuthContext): `sslPeerCertificate` is only
 * filled in when the socket is `authorized`, i.e. the certificate chained to `ca`
 * at TLS. A missing, foreign, expired or non-clientAuth certificate all look the
 * same to a handler: no certificate.
 *
 * `certPem` may be the leaf alone: the CA is appended when absent, because agents
 * discover the CA from this chain on first contact (fetchServerCaPem).
 */
/**
 * A TLS handshake not done this long after the TCP connection is dropped: a peer
 * that connects and sends nothing, or half a ClientHello, holds a socket and its
 * buffers no longer than this (Node's own default is 120 s). The options reach
 * http2.createSecureServer as they are (see below), so tls.Server enforces it.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export function grpcServerCredentials(
  caPem: string,
  certPem: string,
  keyPem: string,
  o: { handshakeTimeoutMs?: number; issuerPem?: string } = {},
): ReloadableServerCredentials {
  return new ReloadableServerCredentials(caPem, serverChainPem(certPem, o.issuerPem ?? caPem), keyPem, o.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS);
}

/**
 * The server credentials above, whose CAs and certificate can be replaced while
 * the server listens (a CA rotation, controller/pki/ca-keeper.ts). grpc-js's base
 * class calls every bound server's watcher on updateSecureContextOptions, and the
 * watcher does `http2Server.setSecureContext(options)` (server.js createHttp2Server):
 * handshakes from then on use the new CAs and certificate; connections already
 * made keep theirs (TLS checks certificates only at the handshake), so no stream
 * is cut. requestCert/rejectUnauthorized are server options and stay as they are.
 */
export class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(caPem: string, chainPem: string, keyPem: string, handshakeTimeoutMs: number) {
    super(
      // GRPC_SSL_CIPHER_SUITES: the same override grpc-js's own createSsl honours.
      { requestCert: true, rejectUnauthorized: false, ciphers: process.env["GRPC_SSL_CIPHER_SUITES"], handshakeTimeout: handshakeTimeoutMs },
      { ca: Buffer.from(caPem), cert: [Buffer.from(chainPem)], key: [Buffer.from(keyPem)] },
    );
  }

  /** New client CAs (a PEM bundle) and serving certificate; issuerPem is appended to the chain as at construction. */
  update(caPem: string, certPem: string, keyPem: string, issuerPem: string): void {
    this.updateSecureContextOptions({ ca: Buffer.from(caPem), cert: [Buffer.from(serverChainPem(certPem, issuerPem))], key: [Buffer.from(keyPem)] });
  }

  // Used by grpc-js to detect re-binding a port with "the same" credentials; the
  // options are this object's own, so identity is the honest answer.
  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/** leaf + "\n" + CA unless the CA is already in the chain. */
export function serverChainPem(certPem: string, caPem: string): string {
  const caDer = toDer(caPem);
  let blocks: ArrayBuffer[];
  try {
    blocks = x509.PemConverter.decode(certPem);
  } catch {
    blocks = [];
  }
  if (blocks.some((b) => caDer.equals(Buffer.from(b)))) return certPem;
  return certPem.trimEnd() + "\n" + caPem.trim();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/**
 * Raw DER of the client certificate of a grpc-js server call, if the client sent
 * one that chained to the server's CA at TLS (see the caveat on
 * grpcServerCredentials). The AuthContext type is not exported from grpc-js, hence
 * the structural parameter and the narrowing here.
 */
export function peerCertificate(call: { getAuthContext?: () => unknown }): Buffer | undefined {
  const ctx = call.getAuthContext?.();
  if (!isRecord(ctx)) return undefined;
  const peer = ctx["sslPeerCertificate"];
  if (!isRecord(peer)) return undefined;
  const raw = peer["raw"];
  return Buffer.isBuffer(raw) && raw.length > 0 ? raw : undefined;
}

export { grpcClientCredentials, KEEPALIVE_MS, KEEPALIVE_TIMEOUT_MS, channelOptions } from "./client-credentials.js";
