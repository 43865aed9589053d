/**
 * The pure parts of relaying an operator's logs/exec to the member holding a
 * host's stream (controller/member/api/relay.ts, exec-relay.ts) and of member
 * certificates (shared/tls/pki.ts): the flow-control window, the relayed call's
 * metadata, which address the audit log trusts, and which certificate stands for
 * a member.
 */
import * as grpc from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { auditPeer, holderLost, isConnectionLost, isRelayed, PEER_HEADER, RELAY_HEADER, relayMetadata, relayTarget, RelayWindow, type RelayDeps } from "../../../controller/member/api/relay.js";
import { clientMessage } from "../../../controller/member/api/exec-relay.js";
import { createCa, createKeyAndCsr, createMemberCert, signHostCsr, verifyClientCert, verifyMemberCert, type CertAndKey } from "../../../shared/tls/pki.js";
import { toCliError } from "../../../cli/client.js";

describe("RelayWindow", () => {
  it("pauses the upstream once more than the window is on its way, and resumes it once it is back within", () => {
    const w = new RelayWindow(100);
    expect(w.sent(60)).toBe(false);
    expect(w.sent(40)).toBe(false); // exactly the window: still flowing
    expect(w.sent(1)).toBe(true); // past it: pause, once
    expect(w.sent(50)).toBe(false);
    expect(w.pending).toBe(151);
    expect(w.taken(50)).toBe(false); // 101: still past
    expect(w.taken(1)).toBe(true); // 100: resume, once
    expect(w.taken(100)).toBe(false);
    expect(w.pending).toBe(0);
  });

  it("never counts below zero (a callback for bytes already counted off)", () => {
    const w = new RelayWindow(10);
    expect(w.taken(5)).toBe(false);
    expect(w.pending).toBe(0);
  });
});

describe("relayed calls", () => {
  it("carry the operator's token, who relays and for whom — nothing else of the operator's metadata", () => {
    const from = new grpc.Metadata();
    from.set("authorization", "Bearer berth_x");
    from.set("x-other", "y");
    const md = relayMetadata(from, "c1", "ipv4:10.0.0.9:5123");
    expect(md.get("authorization")).toEqual(["Bearer berth_x"]);
    expect(md.get(RELAY_HEADER)).toEqual(["c1"]);
    expect(md.get(PEER_HEADER)).toEqual(["ipv4:10.0.0.9:5123"]);
    expect(md.get("x-other")).toEqual([]);
    expect(isRelayed(md)).toBe(true);
    expect(isRelayed(from)).toBe(false);
  });

  const deps = (holder: string, registered: Record<string, string>): RelayDeps => ({
    self: "c1",
    holderOf: () => holder,
    addressOf: async (id) => registered[id],
    operatorOwn: () => {
      throw new Error("not called");
    },
    trustedCas: () => [],
    now: () => 0,
  });

  it("go to the holder; are served here when this member holds the stream, none does, or the call was itself relayed", async () => {
    const md = new grpc.Metadata();
    expect(await relayTarget(deps("c2", { c2: "10.0.0.2:7420" }), md, "h1", "x")).toEqual({ member: "c2", address: "10.0.0.2:7420" });
    expect(await relayTarget(deps("c1", { c1: "a" }), md, "h1", "x")).toBeUndefined();
    expect(await relayTarget(deps("", {}), md, "h1", "x")).toBeUndefined();
    expect(await relayTarget(undefined, md, "h1", "x")).toBeUndefined();
    // Never relayed twice: two members that disagree for a moment cannot bounce a call.
    expect(await relayTarget(deps("c2", { c2: "a" }), relayMetadata(md, "c3", "p"), "h1", "x")).toBeUndefined();
  });

  it("to a holder that is not registered fail as a lost holder, naming host and member", async () => {
    const err = await relayTarget(deps("c2", {}), new grpc.Metadata(), "h1", "the session did not start").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect((err as Error).message).toMatch(/^host h1: its agent stream is on member c2, which was lost or cannot be reached \(it is not registered in the group\); the session did not start/);
  });

  it("treat a dropped connection as the holder lost, and the holder's own answers as answers", () => {
    expect(isConnectionLost({ code: grpc.status.UNAVAILABLE })).toBe(true);
    expect(isConnectionLost({ code: grpc.status.CANCELLED })).toBe(true);
    expect(isConnectionLost({ code: grpc.status.INTERNAL, details: "Received RST_STREAM with code 2" })).toBe(true);
    expect(isConnectionLost({ code: grpc.status.INTERNAL, details: "internal error (see the controller log)" })).toBe(false);
    expect(isConnectionLost({ code: grpc.status.PERMISSION_DENIED })).toBe(false);
  });

  it("that lose their holder are shown by the CLI as the member sent them, not as an unreachable controller", () => {
    const lost = holderLost("h1", "c2", "its logs ended", "Connection dropped");
    const e = toCliError({ code: lost.code, details: lost.message }, "10.0.0.1:7420");
    expect(e.message).toBe(lost.message);
    expect(toCliError({ code: grpc.status.UNAVAILABLE, details: "No connection established" }, "10.0.0.1:7420").message).toBe("cannot reach the controller at 10.0.0.1:7420");
  });
});

describe("exec messages relayed", () => {
  it("keep only their one field of the oneof", () => {
    expect(clientMessage({ msg: "stdin", stdin: Buffer.from("x") } as never)).toEqual({ stdin: Buffer.from("x") });
    expect(clientMessage({ msg: "stdin_eof", stdin_eof: null } as never)).toEqual({ stdin_eof: {} });
    expect(clientMessage({ msg: "resize", resize: { rows: 2, cols: 3 } } as never)).toEqual({ resize: { rows: 2, cols: 3 } });
  });
});

describe("member certificates", () => {
  let ca: CertAndKey;
  let other: CertAndKey;
  let member: CertAndKey;
  let host: string;
  beforeAll(async () => {
    ca = await createCa();
    other = await createCa({ commonName: "another group" });
    member = await createMemberCert(ca, "c1");
    host = await signHostCsr(ca, (await createKeyAndCsr("h")).csrPem, "abcdef012345");
  });

  it("name their member, and only a member certificate of this CA stands for a member", async () => {
    expect(verifyMemberCert(ca.certPem, member.certPem)).toEqual({ ok: true, memberId: "c1" });
    expect(verifyMemberCert(ca.certPem, host)).toMatchObject({ ok: false, reason: expect.stringMatching(/urn:berth:member:/) });
    expect(verifyMemberCert(other.certPem, member.certPem)).toMatchObject({ ok: false, reason: expect.stringMatching(/not issued by this controller's CA/) });
    // …and a member's certificate is no host's.
    expect(verifyClientCert(ca.certPem, member.certPem)).toMatchObject({ ok: false, reason: expect.stringMatching(/urn:berth:host:/) });
    expect((await createMemberCert(ca, "10.0.0.5:7420")).certPem).toContain("BEGIN CERTIFICATE");
    await expect(createMemberCert(ca, "bad name")).rejects.toThrow(/member id/);
  });

  it("let the audit log take the operator's address from a relaying member, and from no one else", async () => {
    const md = relayMetadata(new grpc.Metadata(), "c2", "ipv4:10.0.0.9:5123");
    const call = (pem: string | undefined) => ({
      getPeer: () => "ipv4:10.0.0.2:40000",
      metadata: md,
      getAuthContext: () => (pem ? { sslPeerCertificate: { raw: new X509Certificate(pem).raw } } : {}),
    });
    expect(auditPeer(call(member.certPem), [ca.certPem], new Date())).toBe("ipv4:10.0.0.9:5123 via c1");
    expect(auditPeer(call(host), [ca.certPem], new Date())).toBe("ipv4:10.0.0.2:40000");
    expect(auditPeer(call(undefined), [ca.certPem], new Date())).toBe("ipv4:10.0.0.2:40000");
    expect(auditPeer({ ...call(member.certPem), metadata: new grpc.Metadata() }, [ca.certPem], new Date())).toBe("ipv4:10.0.0.2:40000");
    // During a CA rotation a member's certificate may come from either CA of the bundle; from neither, it is not a member.
    const next = await createCa({ commonName: "next CA" });
    expect(auditPeer(call(member.certPem), [next.certPem, ca.certPem], new Date())).toBe("ipv4:10.0.0.9:5123 via c1");
    expect(auditPeer(call(member.certPem), [next.certPem], new Date())).toBe("ipv4:10.0.0.2:40000");
  });
});
