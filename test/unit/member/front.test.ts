/**
 * controller --front haproxy, the parts without HAProxy: the interceptor that turns the
 * headers HAProxy sets into the call's auth context and peer, the address those give,
 * and a port taken by another program refused before HAProxy is started.
 */
import net from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { FrontError, frontInterceptor, HaproxyFront, PEER_ADDR_HEADER, PEER_CERT_HEADER } from "../../../controller/member/front.js";
import { auditPeer, PEER_HEADER, relayMetadata } from "../../../controller/member/api/relay.js";
import { peerAddress } from "../../../controller/member/agent-stream/cert-host.js";
import { createCa, peerCertificate } from "../../../shared/tls/pki.js";

/** A base call whose listener the test drives, as grpc-js's own does on the front's Unix socket (no TLS, peer "unknown"). */
function throughFront(md: grpc.Metadata): { call: grpc.ServerInterceptingCall; seen: grpc.Metadata } {
  let listener: Parameters<grpc.ServerInterceptingCallInterface["start"]>[0] | undefined;
  const base = {
    start: (l: Parameters<grpc.ServerInterceptingCallInterface["start"]>[0]) => (listener = l),
    sendMetadata() {},
    sendMessage() {},
    startRead() {},
    halfClose() {},
    sendStatus() {},
    getPeer: () => "unknown",
    getDeadline: () => Infinity,
    getHost: () => "",
    getAuthContext: () => ({}),
    getConnectionInfo: () => ({}),
    getMetricsRecorder: () => ({}),
  } as unknown as grpc.ServerInterceptingCallInterface;
  const call = frontInterceptor()({ path: "/berth.v1.AgentService/Connect", requestStream: true, responseStream: true } as never, base) as grpc.ServerInterceptingCall;
  let seen = new grpc.Metadata();
  call.start({ onReceiveMetadata: (m) => (seen = m), onReceiveMessage() {}, onReceiveHalfClose() {}, onCancel() {} });
  listener!.onReceiveMetadata(md);
  return { call, seen };
}

describe("the front's interceptor", () => {
  it("gives the certificate and address HAProxy passed as the call's own, and takes the headers out of the metadata", () => {
    const der = Buffer.from("30820102", "hex");
    const md = new grpc.Metadata();
    md.set(PEER_CERT_HEADER, der.toString("base64"));
    md.set(PEER_ADDR_HEADER, "10.0.0.7:41000");
    const { call, seen } = throughFront(md);
    expect(peerCertificate(call)).toEqual(der);
    expect(call.getPeer()).toBe("10.0.0.7:41000");
    expect(seen.get(PEER_CERT_HEADER)).toEqual([]);
    expect(seen.get(PEER_ADDR_HEADER)).toEqual([]);
  });

  it("no certificate header: no certificate (a client HAProxy saw without one)", () => {
    const { call } = throughFront(new grpc.Metadata());
    expect(peerCertificate(call)).toBeUndefined();
    expect(call.getPeer()).toBe("unknown");
  });

  it("leaves a relaying member's operator address alone: the audit names the operator via the member", () => {
    const md = relayMetadata(new grpc.Metadata(), "c1", "10.0.0.9:5123");
    md.set(PEER_ADDR_HEADER, "10.0.0.1:40000"); // HAProxy on the receiving member: the relaying member's address
    const { call, seen } = throughFront(md);
    expect(PEER_ADDR_HEADER).not.toBe(PEER_HEADER);
    expect(seen.get(PEER_HEADER)).not.toEqual([]);
    // No member certificate here: the call is audited as its transport peer, the relay header unused.
    expect(auditPeer({ getPeer: () => call.getPeer(), metadata: seen, getAuthContext: () => call.getAuthContext() }, [], new Date())).toBe("10.0.0.1:40000");
  });
});

describe("peerAddress", () => {
  it("takes the port off every form a peer comes in, IPv6 without brackets too", () => {
    expect(peerAddress("10.0.0.2:5000")).toBe("10.0.0.2");
    expect(peerAddress("ipv4:10.0.0.2:5000")).toBe("10.0.0.2");
    expect(peerAddress("10.0.0.2")).toBe("10.0.0.2");
    expect(peerAddress("[::1]:5000")).toBe("::1");
    expect(peerAddress("2001:db8::7:41000")).toBe("2001:db8::7");
    expect(peerAddress("::ffff:10.0.0.2:41000")).toBe("10.0.0.2");
    expect(peerAddress("[::ffff:10.0.0.2]:41000")).toBe("10.0.0.2");
  });
});

describe("HaproxyFront.prepare", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it("refuses a port another program holds, before starting HAProxy (whose readiness probe would reach that program)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-front-"));
    dirs.push(dir);
    const other = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    const port = (other.address() as net.AddressInfo).port;
    const ca = await createCa({ commonName: "t" });
    const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
    try {
      const p = HaproxyFront.prepare({ dataDir: dir, listen: { host: "127.0.0.1", port }, tls: { caPem: ca.certPem, certPem: ca.certPem, keyPem: ca.keyPem, issuerPem: ca.certPem }, handshakeTimeoutMs: 10_000, log, bin: "/nonexistent" });
      await expect(p).rejects.toThrow(FrontError);
      await expect(p).rejects.toThrow(`127.0.0.1:${port} is already in use`);
    } finally {
      other.close();
    }
  });
});
