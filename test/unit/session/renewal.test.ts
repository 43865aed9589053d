// Certificate renewal over the stream, both ends without a network: the agent's
// CertRenewal sends its CSR straight to the controller's handler, whose answer
// comes straight back. The controller checks the CSR as untrusted input; the agent
// checks the certificate; the record names the new serial and keeps the old one
// acceptable until it expires.
import { beforeAll, describe, expect, it } from "vitest";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { confirmedRecord, onCertificateStored, onRenewCertificate } from "../../../controller/member/agent-stream/renew.js";
import { certHost } from "../../../controller/member/agent-stream/cert-host.js";
import { helloRecord } from "../../../controller/member/agent-stream/hello.js";
import type { AgentServiceDeps } from "../../../controller/member/agent-stream/deps.js";
import type { AgentStream } from "../../../controller/member/agent-stream/stream.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import type { AgentMessage as AgentMessageSent } from "../../../shared/gen/berth/v1/AgentMessage.js";
import type { CertificateIssued__Output } from "../../../shared/gen/berth/v1/CertificateIssued.js";
import { createCa, createKeyAndCsr, signHostCsr, type CertAndKey } from "../../../shared/tls/pki.js";
import { certFacts } from "../../../shared/tls/cert-life.js";
import { CertRenewal, checkCaBundle, checkIssued, signedByNewest, type Credentials } from "../../../agent/session/renewal.js";
import { loadIdentity, saveIdentity, saveRenewal, saveTrustBundle } from "../../../agent/identity.js";
import { caFingerprint } from "../../../shared/tls/pki.js";
import { bundlePem, renewWithinMs, retireIfDone, signingCa, startRotation, trustedCas, type CaRecord } from "../../../controller/pki/ca-record.js";
import { trustBundle } from "../../../controller/member/agent-stream/trust.js";
import { createLogger } from "../../../shared/log/logger.js";
import { until } from "../until.js";
import { tempStores } from "../fixtures/store.js";

const log = createLogger("test", "silent");
const HOST = "h-renew";
let ca: CertAndKey;
let foreignCa: CertAndKey;
const stores = tempStores("all");
let dir: string;
let registry: HostRegistry;
let joined: Credentials;

beforeAll(async () => {
  ca = await createCa();
  foreignCa = await createCa({ commonName: "another CA" });
  const opened = await stores.open({ subdir: "store" });
  dir = opened.dir;
  registry = new HostRegistry(opened.store, opened.events);
  const { keyPem, csrPem } = await createKeyAndCsr("web-1");
  const certPem = await signHostCsr(ca, csrPem, HOST, { validityMs: 20_000 });
  joined = { certPem, keyPem, caPem: ca.certPem };
  const rec: HostRecord = {
    id: HOST,
    labels: {},
    advertiseAddr: "10.0.0.1",
    facts: null,
    health: "ready",
    healthSinceMs: 0,
    cordoned: false,
    joinedAtMs: 0,
    certSerial: new X509Certificate(certPem).serialNumber,
  };
  await registry.create(rec, { compares: [], ops: [] }, { type: "host.joined", host: HOST, message: "joined" });
  // The host's current stream is the one stream() gives: a renewal on any other changes nothing.
  registry.liveOf(HOST).streamId = 1;
});

function deps(): AgentServiceDeps {
  return { registry, ca, certTtlMs: 20_000, now: Date.now, log } as unknown as AgentServiceDeps;
}

function stream(sent: ControllerMessage[]): AgentStream {
  return { hostId: HOST, sid: 1, certSerial: "", log, send: (m) => void sent.push(m), readReceipt: () => undefined, peer: () => "10.0.0.1:5000", end: () => undefined, greeted: true };
}

const callWith = (certPem: string) => ({ getAuthContext: () => ({ sslPeerCertificate: { raw: new X509Certificate(certPem).raw } }) });

describe("RenewCertificate on the controller", () => {
  it("refuses a CSR asking for another host's identity, and changes nothing", async () => {
    const before = registry.get(HOST)!;
    const sent: ControllerMessage[] = [];
    const { csrPem } = await createKeyAndCsr("h-other");
    await onRenewCertificate(deps(), stream(sent), { csr_pem: csrPem });
    expect(sent[0]?.certificate_issued?.error).toMatch(/CN=h-renew/);
    expect(sent[0]?.certificate_issued?.certificate_pem).toBe("");
    expect(registry.get(HOST)).toEqual(before);
  });

  it("refuses an oversized or garbage CSR naming the field", async () => {
    const sent: ControllerMessage[] = [];
    await onRenewCertificate(deps(), stream(sent), { csr_pem: "x".repeat(20_000) });
    await onRenewCertificate(deps(), stream(sent), { csr_pem: "not a csr" });
    expect(sent.map((m) => m.certificate_issued?.error)).toEqual([expect.stringMatching(/^renew_certificate.csr_pem: larger than/), expect.stringMatching(/^renew_certificate.csr_pem: /)]);
  });
});

describe("the agent's renewal, end to end", () => {
  it("gets a new certificate for a fresh key, stores it atomically, and both serials are accepted until the old one expires", async () => {
    const agentDir = join(dir, "agent");
    await saveIdentity(agentDir, { hostId: HOST, controller: "127.0.0.1:7420", ...joined });
    let current: Credentials = { ...joined };
    const sent: ControllerMessage[] = [];
    let renewedSerial = "";
    let wallOffset = 0;
    const s = stream(sent);
    const renewal: CertRenewal = new CertRenewal({
      hostId: HOST,
      current: () => current,
      // The agent's message goes to the controller's handler; its answer back to the agent.
      send: (m) => {
        if (m.certificate_stored) {
          void onCertificateStored(deps(), s, { serial: m.certificate_stored.serial ?? "" });
          return true;
        }
        if (!m.renew_certificate) return false;
        void onRenewCertificate(deps(), s, { csr_pem: m.renew_certificate.csr_pem ?? "" }).then(() => renewal.answer(sent.at(-1)!.certificate_issued as CertificateIssued__Output));
        return true;
      },
      save: (c) => saveRenewal(agentDir, c),
      renewed: (c) => {
        current = c;
        renewedSerial = c.serial;
        // Back to real time: the new certificate is young, its renewal far off (none runs while the test checks).
        wallOffset = 0;
      },
      log,
      // Injected clock: it is already past two thirds of the 20 s life, so the renewal is due at once.
      wall: () => Date.now() + wallOffset,
      random: () => 0.5,
    });
    wallOffset = 15_000;
    renewal.connected();
    await until(() => renewedSerial !== "", "the renewal");
    renewal.stop();

    const oldSerial = new X509Certificate(joined.certPem).serialNumber;
    expect(renewedSerial).not.toBe(oldSerial);
    // A fresh key, not the old one reused.
    expect(current.keyPem).not.toBe(joined.keyPem);
    // Stored: a restarted agent uses the new pair.
    const stored = await loadIdentity(agentDir);
    expect(stored?.certPem).toBe(current.certPem);
    expect(stored?.keyPem).toBe(current.keyPem);
    expect((await stat(join(agentDir, "identity", "host.key"))).mode & 0o777).toBe(0o600);
    // The record: the new serial, its expiry; the old one still good until it expires.
    // Stored, and the controller told so: it counts the new certificate as the host's.
    await until(() => registry.get(HOST)!.certUnconfirmed === undefined, "the controller to hear the certificate was stored");
    const rec = registry.get(HOST)!;
    expect(rec.certSerial).toBe(renewedSerial);
    expect(rec.prevCertSerial).toBe(oldSerial);
    expect(rec.certNotAfterMs).toBe(certFacts(current.certPem).notAfterMs);
    const d = deps();
    expect(certHost(d, callWith(current.certPem))).toEqual({ hostId: HOST, serial: renewedSerial });
    expect(certHost(d, callWith(joined.certPem))).toEqual({ hostId: HOST, serial: oldSerial });
  });

  it("finishes a renewal a crash interrupted: renewed.json holds the pair, the next load puts it in place", async () => {
    const agentDir = join(dir, "agent-crash");
    await saveIdentity(agentDir, { hostId: HOST, controller: "127.0.0.1:7420", ...joined });
    const next = { certPem: "NEW CERT", keyPem: "NEW KEY", caPem: "NEW CA" };
    // The state a crash right after the first write of saveRenewal leaves.
    await writeFile(join(agentDir, "identity", "renewed.json"), JSON.stringify(next), { mode: 0o600 });
    const id = await loadIdentity(agentDir);
    expect([id?.certPem, id?.keyPem, id?.caPem]).toEqual(["NEW CERT", "NEW KEY", "NEW CA"]);
    await expect(readFile(join(agentDir, "identity", "renewed.json"))).rejects.toThrow(/ENOENT/);
  });
});

describe("checkIssued: what the controller sends is checked as input", () => {
  it("refuses a certificate for another key, another host or from a CA it is not told to trust", async () => {
    const { keyPem, csrPem } = await createKeyAndCsr(HOST);
    const good = await signHostCsr(ca, csrPem, HOST);
    expect(checkIssued(HOST, keyPem, good, ca.certPem, Date.now())).toBeUndefined();
    expect(checkIssued(HOST, joined.keyPem, good, ca.certPem, Date.now())).toMatch(/not for the key/);
    expect(checkIssued(HOST, keyPem, await signHostCsr(ca, csrPem, "h-else"), ca.certPem, Date.now())).toMatch(/names host h-else/);
    expect(checkIssued(HOST, keyPem, good, foreignCa.certPem, Date.now())).toMatch(/does not verify/);
    expect(checkIssued(HOST, keyPem, good, "", Date.now())).toMatch(/ca_pem must hold/);
    expect(checkIssued(HOST, keyPem, good, good, Date.now())).toMatch(/not a CA/);
  });
});

describe("renewal during a CA rotation", () => {
  /** The agent-stream deps of a member following this CA record. */
  function rotatingDeps(rec: CaRecord): AgentServiceDeps {
    return {
      ...deps(),
      ca: signingCa(rec),
      trust: { trusted: () => trustedCas(rec), bundlePem: () => bundlePem(rec), signingFingerprint: () => caFingerprint(signingCa(rec).certPem), renewWithinMs: () => renewWithinMs(rec) },
    } as AgentServiceDeps;
  }

  it("signs with the new CA, records which CA signed, sends both CAs to trust; the old CA's certificate is refused once retired", async () => {
    const next = await createCa({ commonName: "next CA" });
    const rotating = startRotation({ ...ca }, next, { nowMs: Date.now(), by: "t", spreadMs: 1000 });
    const d = rotatingDeps(rotating);
    // The host's certificate from the old CA is still good while both are trusted.
    const oldCert = registry.get(HOST)!;
    const sent: ControllerMessage[] = [];
    const { keyPem, csrPem } = await createKeyAndCsr(HOST);
    await onRenewCertificate(d, stream(sent), { csr_pem: csrPem });
    const issued = sent[0]?.certificate_issued;
    expect(issued?.error).toBe("");
    expect(issued?.ca_pem).toBe(ca.certPem.trim() + "\n" + next.certPem.trim());
    expect(checkIssued(HOST, keyPem, issued!.certificate_pem!, issued!.ca_pem!, Date.now())).toBeUndefined();
    expect(signedByNewest(issued!.certificate_pem!, issued!.ca_pem!)).toBe(true);
    const rec = registry.get(HOST)!;
    expect(rec.certCa).toBe(caFingerprint(next.certPem));
    expect(rec.prevCertSerial).toBe(oldCert.certSerial);
    // Both certificates pass while rotating (the old one as the previous serial).
    expect(certHost(d, callWith(issued!.certificate_pem!))).toEqual({ hostId: HOST, serial: rec.certSerial });
    // Not retired while the agent has not said it stored the new certificate (its answer may be lost); then retired.
    expect(rec.certUnconfirmed).toBe(true);
    expect(retireIfDone(rotating, [rec], Date.now())).toBeUndefined();
    await onCertificateStored(d, stream(sent), { serial: rec.certSerial });
    expect(registry.get(HOST)!.certUnconfirmed).toBeUndefined();
    // Every host on the new CA: retired; the bundle is the new CA alone, and the stream is told so without "renew".
    const retired = retireIfDone(rotating, [registry.get(HOST)!], Date.now())!;
    const after = rotatingDeps(retired);
    expect(trustBundle(after)).toEqual({ trust_bundle: { ca_pem: next.certPem.trim(), renew_within_ms: 0 } });
    expect(trustBundle(d)).toEqual({ trust_bundle: { ca_pem: issued!.ca_pem, renew_within_ms: 1000 } });
    expect(certHost(after, callWith(issued!.certificate_pem!))).toEqual({ hostId: HOST, serial: rec.certSerial });
    const refused = certHost(after, callWith(joined.certPem));
    expect("refuse" in refused && refused.refuse.details).toMatch(/not issued by this controller's CA/);
  });

  it("an answer lost with its stream: the host stays on the old CA, keeps the certificate it holds accepted, and renews again", async () => {
    const next = await createCa({ commonName: "next CA" });
    const rotating = startRotation({ ...ca }, next, { nowMs: Date.now(), by: "t", spreadMs: 1000 });
    const d = rotatingDeps(rotating);
    const id = "h-lost";
    const { csrPem: c0 } = await createKeyAndCsr(id);
    const held = await signHostCsr(ca, c0, id, { validityMs: 20_000 });
    const heldSerial = new X509Certificate(held).serialNumber;
    await registry.create({ ...registry.get(HOST)!, id, certSerial: heldSerial, prevCertSerial: undefined, certCa: caFingerprint(ca.certPem), certUnconfirmed: undefined }, { compares: [], ops: [] }, { type: "host.joined", host: id, message: "joined" });
    registry.liveOf(id).streamId = 1;
    const on = (certSerial: string, sent: ControllerMessage[]): AgentStream => ({ ...stream(sent), hostId: id, certSerial });
    // Renewed on a stream presenting the certificate it holds; the answer never arrives (the stream is gone).
    const lost: ControllerMessage[] = [];
    await onRenewCertificate(d, on(heldSerial, lost), { csr_pem: (await createKeyAndCsr(id)).csrPem });
    const issuedLost = registry.get(id)!;
    expect(issuedLost.certUnconfirmed).toBe(true);
    expect(issuedLost.prevCertSerial).toBe(heldSerial);
    // Still counted on the old CA: retiring it now would lock this host out at its next connection.
    expect(retireIfDone(rotating, [issuedLost], Date.now())).toBeUndefined();
    // It reconnects with the certificate it holds (accepted as the previous one) and renews again: the one kept
    // accepted is still the one it holds, not the one it never received.
    expect(certHost(d, callWith(held))).toEqual({ hostId: id, serial: heldSerial });
    const sent: ControllerMessage[] = [];
    const { keyPem, csrPem } = await createKeyAndCsr(id);
    await onRenewCertificate(d, on(heldSerial, sent), { csr_pem: csrPem });
    const again = registry.get(id)!;
    expect(again.prevCertSerial).toBe(heldSerial);
    expect(again.certSerial).not.toBe(issuedLost.certSerial);
    expect(certHost(d, callWith(held))).toEqual({ hostId: id, serial: heldSerial });
    // A renewal finishing on a stream the host no longer has (a newer one replaced it) changes nothing and answers nothing.
    registry.liveOf(id).streamId = 2;
    const late: ControllerMessage[] = [];
    await onRenewCertificate(d, on(heldSerial, late), { csr_pem: (await createKeyAndCsr(id)).csrPem });
    expect(late).toEqual([]);
    expect(registry.get(id)).toEqual(again);
    registry.live.delete(id);
    // A late word about the lost one changes nothing; the stored one confirms it, and the rotation can end.
    await onCertificateStored(d, on(heldSerial, sent), { serial: issuedLost.certSerial });
    expect(registry.get(id)!.certUnconfirmed).toBe(true);
    const cert = sent[0]!.certificate_issued!.certificate_pem!;
    expect(checkIssued(id, keyPem, cert, sent[0]!.certificate_issued!.ca_pem!, Date.now())).toBeUndefined();
    await onCertificateStored(d, on(heldSerial, sent), { serial: again.certSerial });
    expect(registry.get(id)!.certUnconfirmed).toBeUndefined();
    expect(retireIfDone(rotating, [registry.get(id)!], Date.now())).toBeDefined();
    // Presenting it at a connection confirms it as well (hello.ts); presenting the one before does not.
    expect(confirmedRecord(again, again.certSerial)).toEqual(registry.get(id));
    const sentByHello = { facts: again.facts, labels: again.labels, advertiseAddr: again.advertiseAddr };
    expect(helloRecord(again, again.certSerial, sentByHello)).toEqual(registry.get(id));
    expect(helloRecord(again, heldSerial, sentByHello)).toBeUndefined();
    expect(helloRecord(again, heldSerial, { ...sentByHello, advertiseAddr: "10.0.0.9" })).toEqual({ ...again, advertiseAddr: "10.0.0.9" });
  });

  it("the agent asks nothing while it stores an answer, and tells every next stream which certificate it stored", async () => {
    const sent: AgentMessageSent[] = [];
    let finishSave: () => void = () => undefined;
    const s = stream([]);
    const r: CertRenewal = new CertRenewal({
      hostId: HOST,
      current: () => joined,
      send: (m) => {
        sent.push(m);
        if (m.renew_certificate) void onRenewCertificate(deps(), s, { csr_pem: m.renew_certificate.csr_pem ?? "" });
        return true;
      },
      save: () => new Promise<void>((resolve) => (finishSave = resolve)),
      renewed: () => undefined,
      log,
      random: () => 0,
    });
    const asked: ControllerMessage[] = [];
    try {
      // Asked at once; the controller's answer arrives and the agent starts storing it.
      s.send = (m) => void asked.push(m);
      r.renewWithin(1);
      await until(() => asked.length === 1, "the controller's answer");
      const answered = r.answer(asked[0]!.certificate_issued as CertificateIssued__Output);
      // A rotation's "renew now" while the save runs asks nothing: a second CSR would leave the stored one unaccepted.
      r.renewWithin(1);
      r.connected();
      expect(r.plannedAtMs).toBeUndefined();
      expect(sent.filter((m) => m.renew_certificate)).toHaveLength(1);
      finishSave();
      await answered;
      const serial = certFacts(asked[0]!.certificate_issued!.certificate_pem!).serial;
      expect(sent.filter((m) => m.certificate_stored).map((m) => m.certificate_stored!.serial)).toEqual([serial]);
      // The word may have found no stream: every next stream hears it again.
      r.connected();
      expect(sent.filter((m) => m.certificate_stored).map((m) => m.certificate_stored!.serial)).toEqual([serial, serial]);
    } finally {
      r.stop();
    }
  });

  it("the agent renews within the spread when asked, and never later than it had planned", async () => {
    const sentCsr: string[] = [];
    const r = new CertRenewal({
      hostId: HOST,
      current: () => joined,
      send: (m) => {
        if (m.renew_certificate) sentCsr.push(m.renew_certificate.csr_pem ?? "");
        return true;
      },
      save: async () => undefined,
      renewed: () => undefined,
      log,
      random: () => 0.5,
    });
    try {
      // Its own schedule: ~2/3 of a 20 s life from now, i.e. seconds away.
      r.connected();
      r.renewWithin(100);
      await until(() => sentCsr.length === 1, "the renewal asked for within the spread");
    } finally {
      r.stop();
    }
  });

  it("checks a trust bundle as input, tells the newest CA's certificates apart, stores a bundle whole", async () => {
    const next = await createCa({ commonName: "next CA" });
    const both = ca.certPem + "\n" + next.certPem;
    expect(checkCaBundle(both)).toBeUndefined();
    expect(checkCaBundle("")).toMatch(/must hold 1 to 8/);
    expect(checkCaBundle(joined.certPem)).toMatch(/not a CA/);
    expect(checkCaBundle("x".repeat(70_000))).toMatch(/larger than/);
    expect(signedByNewest(joined.certPem, both)).toBe(false);
    expect(signedByNewest(joined.certPem, next.certPem + "\n" + ca.certPem)).toBe(true);
    const agentDir = join(dir, "agent-bundle");
    await saveIdentity(agentDir, { hostId: HOST, controller: "127.0.0.1:7420", ...joined });
    await saveTrustBundle(agentDir, both);
    expect((await loadIdentity(agentDir))?.caPem).toBe(both);
    expect((await stat(join(agentDir, "identity", "ca.crt"))).mode & 0o777).toBe(0o600);
  });
});
