// Certificate renewal over the stream, both ends without a network: the agent's
// CertRenewal sends its CSR straight to the controller's handler, whose answer
// comes straight back. The controller checks the CSR as untrusted input; the agent
// checks the certificate; the record names the new serial and keeps the old one
// acceptable until it expires.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { openLevelStore } from "../../../controller/store/level-store.js";
import type { Store } from "../../../controller/store/store.js";
import { EventLog } from "../../../controller/events/event-log.js";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { onRenewCertificate } from "../../../controller/member/agent-stream/renew.js";
import { certHost } from "../../../controller/member/agent-stream/cert-host.js";
import type { AgentServiceDeps } from "../../../controller/member/agent-stream/deps.js";
import type { AgentStream } from "../../../controller/member/agent-stream/stream.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import type { CertificateIssued__Output } from "../../../shared/gen/berth/v1/CertificateIssued.js";
import { createCa, createKeyAndCsr, signHostCsr, type CertAndKey } from "../../../shared/tls/pki.js";
import { certFacts } from "../../../shared/tls/cert-life.js";
import { CertRenewal, checkIssued, type Credentials } from "../../../agent/session/renewal.js";
import { loadIdentity, saveIdentity, saveRenewal } from "../../../agent/identity.js";
import { createLogger } from "../../../shared/log/logger.js";
import { until } from "../until.js";

const log = createLogger("test", "silent");
const HOST = "h-renew";
let ca: CertAndKey;
let foreignCa: CertAndKey;
let dir: string;
let store: Store;
let registry: HostRegistry;
let joined: Credentials;

beforeAll(async () => {
  ca = await createCa();
  foreignCa = await createCa({ commonName: "another CA" });
  dir = await mkdtemp(join(tmpdir(), "berth-renew-"));
  store = await openLevelStore(join(dir, "store"));
  const events = new EventLog(store, Date.now);
  await events.init();
  registry = new HostRegistry(store, events);
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
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function deps(): AgentServiceDeps {
  return { registry, ca, certTtlMs: 20_000, now: Date.now, log } as unknown as AgentServiceDeps;
}

function stream(sent: ControllerMessage[]): AgentStream {
  return { hostId: HOST, sid: 1, certSerial: "", log, send: (m) => void sent.push(m), peer: () => "10.0.0.1:5000", end: () => undefined, greeted: true };
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
