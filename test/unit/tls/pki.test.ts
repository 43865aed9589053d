import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import * as grpc from "@grpc/grpc-js";
import { createPrivateKey, webcrypto, X509Certificate } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  CaDiscoveryTimeoutError,
  CaMismatchError,
  CONTROLLER_TLS_NAME,
  InvalidCsrError,
  InvalidHostIdError,
  caFingerprint,
  channelOptions,
  createCa,
  createKeyAndCsr,
  createServerCert,
  fetchServerCaPem,
  grpcClientCredentials,
  grpcServerCredentials,
  hostIdFromCert,
  sanUris,
  peerCertificate,
  serverChainPem,
  signHostCsr,
  verifyClientCert,
  verifyClientCertAny,
  type CertAndKey,
  type ReloadableServerCredentials,
} from "../../../shared/tls/pki.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const SIGN_ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

let ca: CertAndKey;
let foreignCa: CertAndKey;
let server: CertAndKey; // controller serving cert from `ca`
let host: CertAndKey; // host "h-1" client cert from `ca`
let foreignHost: CertAndKey; // host "h-1" client cert from `foreignCa`

async function hostCert(issuer: CertAndKey, hostId: string, validityDays?: number): Promise<CertAndKey> {
  const { keyPem, csrPem } = await createKeyAndCsr(hostId);
  const certPem = await signHostCsr(issuer, csrPem, hostId, validityDays === undefined ? {} : { validityMs: validityDays * 86_400_000 });
  return { certPem, keyPem };
}

beforeAll(async () => {
  ca = await createCa();
  foreignCa = await createCa({ commonName: "someone else's CA" });
  server = await createServerCert(ca, { dnsNames: [CONTROLLER_TLS_NAME, "localhost"], ips: ["127.0.0.1"] });
  host = await hostCert(ca, "h-1");
  foreignHost = await hostCert(foreignCa, "h-1");
});

// Flip one bit of the last DER byte (inside the ECDSA signature) and re-wrap as PEM.
function tamperCsr(csrPem: string): string {
  const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  return x509.PemConverter.encode(der, "CERTIFICATE REQUEST");
}

describe("CA and server certificate", () => {
  it("creates a P-256 CA that can only sign certificates", () => {
    const c = new X509Certificate(ca.certPem);
    expect(c.ca).toBe(true);
    expect(c.checkIssued(c)).toBe(true);
    expect(c.verify(c.publicKey)).toBe(true);
    expect(c.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
    expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const p = new x509.X509Certificate(ca.certPem);
    expect(p.getExtension(x509.KeyUsagesExtension)?.usages).toBe(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    const years = (p.notAfter.getTime() - p.notBefore.getTime()) / DAY_MS / 365;
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
  });

  it("issues a serverAuth certificate with the SANs given", () => {
    const c = new X509Certificate(server.certPem);
    expect(c.ca).toBe(false);
    expect(c.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(c.checkHost(CONTROLLER_TLS_NAME)).toBe(CONTROLLER_TLS_NAME);
    expect(c.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(c.subjectAltName).toContain("DNS:localhost");
    expect(c.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
    const p = new x509.X509Certificate(server.certPem);
    expect(p.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
  });

  it("rejects a non-IP in ips", async () => {
    await expect(createServerCert(ca, { dnsNames: [CONTROLLER_TLS_NAME], ips: ["not-an-ip"] })).rejects.toThrow(RangeError);
  });

  it("fingerprints the CA DER as lowercase hex sha256", () => {
    const fp = caFingerprint(ca.certPem);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(fp).toBe(new X509Certificate(ca.certPem).fingerprint256.replaceAll(":", "").toLowerCase());
    expect(caFingerprint(foreignCa.certPem)).not.toBe(fp);
    // Remembered for the last CA asked about, never mixed up with another one (a rotation alternates them).
    expect(caFingerprint(ca.certPem)).toBe(fp);
    expect(caFingerprint(foreignCa.certPem)).toBe(new X509Certificate(foreignCa.certPem).fingerprint256.replaceAll(":", "").toLowerCase());
    expect(caFingerprint(ca.certPem)).toBe(fp);
  });
});

describe("CSR signing", () => {
  it("round-trips: key stays with the agent, identity comes from the controller", async () => {
    const { keyPem, csrPem } = await createKeyAndCsr("web-01.example");
    const before = Date.now();
    const certPem = await signHostCsr(ca, csrPem, "h-42");
    const c = new X509Certificate(certPem);
    expect(c.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(c.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(c.subject).toBe("CN=h-42");
    expect(c.subjectAltName).toBe("URI:urn:berth:host:h-42");
    expect(c.ca).toBe(false);
    expect(hostIdFromCert(certPem)).toBe("h-42");
    expect(hostIdFromCert(c.raw)).toBe("h-42");
    expect(hostIdFromCert(Buffer.from(certPem))).toBe("h-42");

    const p = new x509.X509Certificate(certPem);
    expect(p.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    // Backdated a minute for clock skew (UTCTime has whole seconds).
    expect(before - p.notBefore.getTime()).toBeGreaterThanOrEqual(59_000);
    expect(before - p.notBefore.getTime()).toBeLessThan(65_000);
    // The default lifetime: 30 days, renewed at about two thirds of it.
    expect((p.notAfter.getTime() - before) / DAY_MS).toBeCloseTo(30, 1);
  });

  it("backdates a short-lived certificate by a tenth of its life, not a minute", async () => {
    const { csrPem } = await createKeyAndCsr("h");
    const p = new x509.X509Certificate(await signHostCsr(ca, csrPem, "h-9", { validityMs: 20_000 }));
    const life = p.notAfter.getTime() - p.notBefore.getTime();
    expect(life).toBeGreaterThanOrEqual(20_000);
    expect(life).toBeLessThanOrEqual(24_000);
  });

  it("a renewal CSR must ask in its own host's name, and for no subjectAltName", async () => {
    const own = await createKeyAndCsr("h-10");
    await expect(signHostCsr(ca, own.csrPem, "h-10", { subjectMustBe: "h-10" })).resolves.toContain("BEGIN CERTIFICATE");
    const other = await createKeyAndCsr("h-11");
    await expect(signHostCsr(ca, other.csrPem, "h-10", { subjectMustBe: "h-10" })).rejects.toThrow(/CN=h-10/);
    const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const withSan = await x509.Pkcs10CertificateRequestGenerator.create({
      name: [{ CN: ["h-10"] }],
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: "urn:berth:host:h-12" }])],
    });
    await expect(signHostCsr(ca, withSan.toString("pem"), "h-10", { subjectMustBe: "h-10" })).rejects.toThrow(/subjectAltName/);
  });

  it("imports the CA's key once, not for every join: a rack joining signs hundreds of CSRs in a row", async () => {
    const imports: string[] = [];
    const orig = webcrypto.subtle.importKey.bind(webcrypto.subtle);
    const spy = vi.spyOn(webcrypto.subtle, "importKey").mockImplementation(((format: string, ...rest: unknown[]) => {
      imports.push(format);
      return (orig as (...a: unknown[]) => Promise<webcrypto.CryptoKey>)(format, ...rest);
    }) as typeof webcrypto.subtle.importKey);
    try {
      for (const id of ["h-31", "h-32", "h-33"]) {
        const { csrPem } = await createKeyAndCsr(id);
        await signHostCsr(ca, csrPem, id);
      }
    } finally {
      spy.mockRestore();
    }
    expect(imports.filter((f) => f === "pkcs8").length).toBeLessThanOrEqual(1);
  });

  it("uses random serials", async () => {
    const { csrPem } = await createKeyAndCsr("h");
    const a = new X509Certificate(await signHostCsr(ca, csrPem, "h-2"));
    const b = new X509Certificate(await signHostCsr(ca, csrPem, "h-2"));
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.serialNumber).toMatch(/^[0-9A-F]{32}$/);
  });

  it("ignores what the CSR asks for (other host, serverAuth, CA)", async () => {
    const keys = await webcrypto.subtle.generateKey(SIGN_ALG, true, ["sign", "verify"]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=admin",
      keys,
      signingAlgorithm: SIGN_ALG,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: "urn:berth:host:admin" }]),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.BasicConstraintsExtension(true),
      ],
    });
    const c = new X509Certificate(await signHostCsr(ca, csr.toString("pem"), "h-7"));
    expect(c.subject).toBe("CN=h-7");
    expect(c.subjectAltName).toBe("URI:urn:berth:host:h-7");
    expect(c.ca).toBe(false);
    expect(c.keyUsage).toEqual([x509.ExtendedKeyUsage.clientAuth]);
  });

  it("rejects a tampered CSR", async () => {
    const { csrPem } = await createKeyAndCsr("h");
    await expect(signHostCsr(ca, tamperCsr(csrPem), "h-3")).rejects.toThrow(InvalidCsrError);
  });

  it("rejects garbage, wrong PEM types, oversized input and empty input", async () => {
    const bad = [
      "",
      "hello",
      "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----",
      ca.certPem,
      (await createKeyAndCsr("a")).csrPem + "\n" + (await createKeyAndCsr("b")).csrPem,
      "A".repeat(17 * 1024),
    ];
    for (const csrPem of bad) {
      await expect(signHostCsr(ca, csrPem, "h-4"), csrPem.slice(0, 40)).rejects.toThrow(InvalidCsrError);
    }
  });

  it("rejects a CSR that is not ECDSA P-256", async () => {
    const alg = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" } as const;
    const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: "CN=h", keys, signingAlgorithm: alg });
    await expect(signHostCsr(ca, csr.toString("pem"), "h-5")).rejects.toThrow(/P-256/);
    await expect(signHostCsr(ca, csr.toString("pem"), "h-5")).rejects.toBeInstanceOf(InvalidCsrError);
  });

  it("refuses host ids that need escaping", async () => {
    const { csrPem } = await createKeyAndCsr("h");
    for (const id of ["", "a b", "x,URI:urn:berth:host:admin", "-lead", "a".repeat(64)]) {
      await expect(signHostCsr(ca, csrPem, id)).rejects.toBeInstanceOf(InvalidHostIdError);
    }
  });

  it("hostIdFromCert is undefined for garbage and for certs without a host URI", () => {
    expect(hostIdFromCert("garbage")).toBeUndefined();
    expect(hostIdFromCert(Buffer.from([1, 2, 3]))).toBeUndefined();
    expect(hostIdFromCert(server.certPem)).toBeUndefined();
    expect(hostIdFromCert(ca.certPem)).toBeUndefined();
  });
});

describe("sanUris (node:crypto's subjectAltName text)", () => {
  it("reads URI entries, plain and JSON-quoted, and nothing inside a quoted value", () => {
    expect(sanUris(undefined)).toEqual([]);
    expect(sanUris("URI:urn:berth:host:h-1")).toEqual(["urn:berth:host:h-1"]);
    expect(sanUris("DNS:berth-controller, URI:urn:berth:host:h-1, IP Address:10.0.0.1")).toEqual(["urn:berth:host:h-1"]);
    expect(sanUris('URI:"x, URI:urn:berth:host:h-9", DNS:a')).toEqual(["x, URI:urn:berth:host:h-9"]);
    expect(sanUris('URI:"a\\"b", URI:urn:berth:host:h-2')).toEqual(['a"b', "urn:berth:host:h-2"]);
  });

  it("a certificate whose URI hides a second host id inside a quoted value names no host", async () => {
    const keys = await webcrypto.subtle.generateKey(SIGN_ALG, true, ["sign", "verify"]);
    const sneaky = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=sneaky",
      keys,
      signingAlgorithm: SIGN_ALG,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: "x, URI:urn:berth:host:h-9" }])],
    });
    expect(hostIdFromCert(sneaky.toString("pem"))).toBeUndefined();
    const two = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=two",
      keys,
      signingAlgorithm: SIGN_ALG,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: "urn:berth:host:h-1" }, { type: "url", value: "urn:berth:host:h-2" }])],
    });
    expect(hostIdFromCert(two.toString("pem"))).toBeUndefined();
  });
});

describe("verifyClientCert", () => {
  it("accepts a host certificate from this CA, as PEM or DER", () => {
    const serial = new X509Certificate(host.certPem).serialNumber;
    expect(verifyClientCert(ca.certPem, host.certPem)).toEqual({ ok: true, hostId: "h-1", serial });
    expect(verifyClientCert(ca.certPem, new X509Certificate(host.certPem).raw)).toEqual({ ok: true, hostId: "h-1", serial });
  });

  it("rejects a certificate from a foreign CA", () => {
    const r = verifyClientCert(ca.certPem, foreignHost.certPem);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.reason).toMatch(/not issued by this controller's CA/);
  });

  it("rejects an expired and a not-yet-valid certificate", () => {
    const expired = verifyClientCert(ca.certPem, host.certPem, new Date(Date.now() + 366 * DAY_MS));
    expect(expired.ok ? "" : expired.reason).toMatch(/expired/);
    const early = verifyClientCert(ca.certPem, host.certPem, new Date(Date.now() - 60 * 60 * 1000));
    expect(early.ok ? "" : early.reason).toMatch(/not valid before/);
  });

  it("rejects a self-signed certificate impersonating the CA's name", async () => {
    const keys = await webcrypto.subtle.generateKey(SIGN_ALG, true, ["sign", "verify"]);
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      name: new x509.X509Certificate(ca.certPem).subjectName,
      keys,
      signingAlgorithm: SIGN_ALG,
      extensions: [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: "urn:berth:host:h-1" }]),
      ],
    });
    const r = verifyClientCert(ca.certPem, forged.toString("pem"));
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.reason).toMatch(/signature does not verify/);
  });

  it("rejects a server certificate (no clientAuth)", () => {
    const r = verifyClientCert(ca.certPem, server.certPem);
    expect(r.ok ? "" : r.reason).toMatch(/clientAuth/);
  });

  it("rejects the CA itself and garbage", () => {
    expect(verifyClientCert(ca.certPem, ca.certPem).ok).toBe(false);
    expect(verifyClientCert(ca.certPem, Buffer.from("nope")).ok).toBe(false);
  });
});

describe("peerCertificate / channel options", () => {
  it("narrows whatever getAuthContext returns", () => {
    const raw = Buffer.from([0x30, 0x01, 0x00]);
    expect(peerCertificate({})).toBeUndefined();
    expect(peerCertificate({ getAuthContext: () => ({}) })).toBeUndefined();
    expect(peerCertificate({ getAuthContext: () => null })).toBeUndefined();
    expect(peerCertificate({ getAuthContext: () => ({ sslPeerCertificate: { raw: "x" } }) })).toBeUndefined();
    expect(peerCertificate({ getAuthContext: () => ({ sslPeerCertificate: { raw } }) })).toBe(raw);
  });

  it("dials by the controller's TLS name", () => {
    expect(channelOptions()).toEqual({
      "grpc.ssl_target_name_override": "berth-controller",
      "grpc.default_authority": "berth-controller",
    });
  });

  it("serverChainPem appends the CA once", () => {
    const chain = serverChainPem(server.certPem, ca.certPem);
    expect(x509.PemConverter.decode(chain)).toHaveLength(2);
    expect(serverChainPem(chain, ca.certPem)).toBe(chain);
  });
});

// ---------------------------------------------------------------------------
// Real sockets

const tlsServers: net.Server[] = [];
const openSockets = new Set<net.Socket>();
const grpcServers: grpc.Server[] = [];
const grpcClients: grpc.Client[] = [];

afterEach(async () => {
  for (const c of grpcClients.splice(0)) c.close();
  for (const s of grpcServers.splice(0)) s.forceShutdown();
  for (const s of openSockets) s.destroy();
  openSockets.clear();
  await Promise.all(tlsServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function listen(srv: net.Server): Promise<number> {
  tlsServers.push(srv);
  srv.on("connection", (s: net.Socket) => {
    openSockets.add(s);
    s.on("close", () => openSockets.delete(s));
    s.on("error", () => undefined); // the discovering client hangs up abruptly on purpose
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  if (addr === null || typeof addr === "string") throw new Error("no TCP address");
  return addr.port;
}

function tlsServer(certChainPem: string, keyPem: string): Promise<number> {
  const srv = tls.createServer({ cert: certChainPem, key: keyPem, ALPNProtocols: ["h2"] });
  srv.on("secureConnection", (s) => s.on("error", () => undefined));
  return listen(srv);
}

describe("fetchServerCaPem", () => {
  it("returns the CA when the pinned fingerprint is in the served chain", async () => {
    const port = await tlsServer(server.certPem + "\n" + ca.certPem, server.keyPem);
    const pem = await fetchServerCaPem("127.0.0.1", port, caFingerprint(ca.certPem));
    expect(pem).toBe(ca.certPem);
    // The kubeadm-style and colon forms of the pin work too.
    const colons = new X509Certificate(ca.certPem).fingerprint256;
    expect(await fetchServerCaPem("127.0.0.1", port, colons)).toBe(ca.certPem);
    expect(await fetchServerCaPem("127.0.0.1", port, "sha256:" + caFingerprint(ca.certPem))).toBe(ca.certPem);
  });

  it("rejects with CaMismatchError on a wrong fingerprint", async () => {
    const port = await tlsServer(server.certPem + "\n" + ca.certPem, server.keyPem);
    const p = fetchServerCaPem("127.0.0.1", port, caFingerprint(foreignCa.certPem));
    await expect(p).rejects.toBeInstanceOf(CaMismatchError);
    await expect(fetchServerCaPem("127.0.0.1", port, "00".repeat(32))).rejects.toThrow(
      /controller's CA does not match the join token/,
    );
  });

  it("cannot find the CA when the server sends only its leaf", async () => {
    const port = await tlsServer(server.certPem, server.keyPem);
    await expect(fetchServerCaPem("127.0.0.1", port, caFingerprint(ca.certPem))).rejects.toBeInstanceOf(CaMismatchError);
  });

  it("rejects a host certificate posing as the controller, even from the pinned CA", async () => {
    const port = await tlsServer(host.certPem + "\n" + ca.certPem, host.keyPem);
    await expect(fetchServerCaPem("127.0.0.1", port, caFingerprint(ca.certPem))).rejects.toThrow(/serverAuth/);
  });

  it("times out on a server that never answers the handshake", async () => {
    const port = await listen(net.createServer());
    await expect(fetchServerCaPem("127.0.0.1", port, caFingerprint(ca.certPem), 150)).rejects.toBeInstanceOf(
      CaDiscoveryTimeoutError,
    );
  });
});

describe("grpc-js mutual TLS on one port", () => {
  const identity = (b: Buffer): Buffer => b;
  const whoAmI: grpc.MethodDefinition<Buffer, Buffer> = {
    path: "/berth.test.Tls/WhoAmI",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
  const service: grpc.ServiceDefinition = { WhoAmI: whoAmI };
  const TlsClient = grpc.makeGenericClientConstructor(service, "Tls");

  // What the handler saw, in call order: "none", "invalid: <reason>" or the host id.
  let seen: string[] = [];
  // The CAs the handler accepts (both during a rotation).
  let trusted: string[] = [];
  let creds: ReloadableServerCredentials | undefined;

  const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const der = peerCertificate(call);
    if (!der) {
      seen.push("none");
      callback({ code: grpc.status.UNAUTHENTICATED, details: "client certificate required" });
      return;
    }
    const v = verifyClientCertAny(trusted, der);
    if (!v.ok) {
      seen.push(`invalid: ${v.reason}`);
      callback({ code: grpc.status.UNAUTHENTICATED, details: v.reason });
      return;
    }
    seen.push(v.hostId);
    callback(null, Buffer.from(v.hostId));
  };

  async function startServer(): Promise<number> {
    seen = [];
    trusted = [ca.certPem];
    const srv = new grpc.Server();
    grpcServers.push(srv);
    srv.addService(service, { WhoAmI: handler });
    // The leaf alone is passed: grpcServerCredentials appends the CA for discovery.
    const c = grpcServerCredentials(ca.certPem, server.certPem, server.keyPem);
    creds = c;
    return new Promise<number>((resolve, reject) => {
      srv.bindAsync("127.0.0.1:0", c, (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  function call(port: number, clientCert?: CertAndKey, rootPem = ca.certPem): Promise<{ hostId?: string; code?: grpc.status; details?: string }> {
    const client = new TlsClient(`127.0.0.1:${port}`, grpcClientCredentials(rootPem, clientCert), channelOptions());
    grpcClients.push(client);
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        whoAmI.path,
        identity,
        identity,
        Buffer.alloc(0),
        { deadline: Date.now() + 10_000 },
        (err: grpc.ServiceError | null, res?: Buffer) => {
          if (err) resolve({ code: err.code, details: err.details });
          else resolve({ hostId: res?.toString() ?? "" });
        },
      );
    });
  }

  it("identifies a client with a host certificate", async () => {
    const port = await startServer();
    expect(await call(port, host)).toEqual({ hostId: "h-1" });
    expect(seen).toEqual(["h-1"]);
  });

  it("lets a client without a certificate connect; the handler refuses it", async () => {
    const port = await startServer();
    expect(await call(port)).toEqual({ code: grpc.status.UNAUTHENTICATED, details: "client certificate required" });
    expect(seen).toEqual(["none"]);
  });

  it("a foreign-CA certificate passes TLS but is invisible to the handler", async () => {
    // TLS does not refuse it (rejectUnauthorized: false), and grpc-js's getAuthContext
    // only exposes certificates of `authorized` sockets, so the handler sees none.
    const port = await startServer();
    expect(await call(port, foreignHost)).toEqual({ code: grpc.status.UNAUTHENTICATED, details: "client certificate required" });
    expect(seen).toEqual(["none"]);
  });

  it("a listening server takes new CAs and a new certificate: the next handshakes use them (CA rotation)", async () => {
    const port = await startServer();
    // Rotating: both CAs trusted, still serving the old CA's certificate.
    const bundle = ca.certPem + "\n" + foreignCa.certPem;
    creds!.update(bundle, server.certPem, server.keyPem, ca.certPem);
    trusted = [ca.certPem, foreignCa.certPem];
    expect(await call(port, foreignHost, bundle)).toEqual({ hostId: "h-1" });
    expect(await call(port, host, bundle)).toEqual({ hostId: "h-1" });
    // Retired: the new CA alone, and a serving certificate from it.
    const newServer = await createServerCert(foreignCa, { dnsNames: [CONTROLLER_TLS_NAME], ips: ["127.0.0.1"] });
    creds!.update(foreignCa.certPem, newServer.certPem, newServer.keyPem, foreignCa.certPem);
    trusted = [foreignCa.certPem];
    expect(await call(port, foreignHost, bundle)).toEqual({ hostId: "h-1" });
    // A client that trusts only the old CA no longer accepts the server.
    expect((await call(port, host, ca.certPem)).code).toBe(grpc.status.UNAVAILABLE);
    // The old CA's host certificate no longer passes TLS: the handler sees none.
    expect(await call(port, host, bundle)).toEqual({ code: grpc.status.UNAUTHENTICATED, details: "client certificate required" });
    expect(await fetchServerCaPem("127.0.0.1", port, caFingerprint(foreignCa.certPem))).toBe(foreignCa.certPem);
  });

  it("verifyClientCertAny accepts a certificate of either CA and names every reason when none does", () => {
    expect(verifyClientCertAny([ca.certPem, foreignCa.certPem], foreignHost.certPem)).toMatchObject({ ok: true, hostId: "h-1", caPem: foreignCa.certPem });
    const v = verifyClientCertAny([ca.certPem], foreignHost.certPem);
    expect(v.ok).toBe(false);
    expect(verifyClientCertAny([], host.certPem)).toEqual({ ok: false, reason: "no CA is trusted" });
  });

  it("serves leaf + CA so agents can discover the CA on the same port", async () => {
    const port = await startServer();
    expect(await fetchServerCaPem("127.0.0.1", port, caFingerprint(ca.certPem))).toBe(ca.certPem);
  });
});
