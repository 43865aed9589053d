/**
 * Issue 13, CA rotation on a real fleet: `berth ca rotate` introduces a new CA,
 * every agent trusts both and renews onto the new one, and the old one is retired
 * once no host's certificate is signed by it — with no host going down, no
 * instance touched, the operator's CLI working throughout (its CA file updated to
 * the bundle), and agents that reconnect mid-rotation (a controller restart) still
 * connecting.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { Cluster, type StatusJson } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { svcSpec } from "./harness/specs.js";
import { tearDownWith } from "./harness/teardown.js";

interface CaStatusJson {
  phase: string;
  current: { fingerprint: string } | null;
  next: { fingerprint: string } | null;
  retired: { fingerprint: string } | null;
  hosts_on_old: string[];
  hosts_on_new: string[];
  bundle_pem: string;
  trust_stored_in?: string | null;
}

const healthyOn = (s: StatusJson): string[] => s.instances.filter((i) => i.state === "healthy").map((i) => i.host);
const pems = (text: string): string[] => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const signedBy = (certPem: string, caPem: string): boolean => {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
};

describe("berth ca rotate on a running fleet", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 3 });
  });
  tearDownWith(() => c);

  it("every host ends on the new CA, the old one is retired, nothing restarts, no host goes down, the CLI works throughout", async () => {
    const r = await c.apply(await c.specDir("steady", { "steady.yaml": svcSpec("steady", { instances: 3, args: ["server.js", "--tag=steady"], stopTimeout: "2s" }) }));
    expect(r.code, r.stderr).toBe(0);
    const st = await c.waitForStatus("steady", (s) => healthyOn(s).length === 3, "3 healthy steady, one per host");
    const t1 = Date.now();
    const oldCaPem = await readFile(c.caFile, "utf8");
    // This operator's CA file (`ca rotate` updates it), and another operator's, left as it was.
    const opCa = join(c.dir, "operator-ca.crt");
    const otherCa = join(c.dir, "other-operator-ca.crt");
    await copyFile(c.caFile, opCa);
    await copyFile(c.caFile, otherCa);
    c.caFile = opCa;

    // Rotating needs admin.
    const viewer = (await c.cli(["token", "create", "--role", "viewer"])).stdout.trim();
    const refused = await c.cli(["ca", "rotate"], { token: viewer });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/needs the admin role/);

    const rot = await c.cli(["ca", "rotate", "--spread", "15s", "-o", "json"]);
    expect(rot.code, rot.stderr).toBe(0);
    const started = JSON.parse(rot.stdout) as CaStatusJson;
    expect(started.phase).toBe("rotating");
    expect(started.trust_stored_in).toBe(opCa);
    const oldFp = started.current!.fingerprint;
    const newFp = started.next!.fingerprint;
    expect(pems(await readFile(opCa, "utf8"))).toHaveLength(2);
    // A second rotation while this one runs is refused.
    const again = await c.cli(["ca", "rotate"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already in progress/);
    // Viewers may look.
    expect((await c.cli(["ca", "status"], { token: viewer })).code).toBe(0);

    // Every agent reconnects mid-rotation (the controller restarts): they trust both CAs by now or still only the old,
    // hold a certificate of either: all connect, and the restarted controller follows the stored rotation.
    await waitFor(async () => (await Promise.all([1, 2, 3].map(async (i) => pems(await readFile(join(c.hostDir(i), "identity", "ca.crt"), "utf8")).length))).every((n) => n === 2) || undefined, {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: "every agent to store the two-CA bundle",
    });
    await c.killController();
    await c.startController();
    c.caFile = opCa; // startController points it back at the controller's own file
    await c.waitForHosts((hs) => hs.length === 3 && hs.every((h) => h.connected && h.status === "ready"), "every host back mid-rotation", 30_000);

    // Until done, the operator's CLI answers every time.
    const failures: string[] = [];
    const done = await waitFor(
      async () => {
        const s = await c.cli(["ca", "status", "-o", "json"]);
        if (s.code !== 0) {
          failures.push(s.stderr);
          return undefined;
        }
        const j = JSON.parse(s.stdout) as CaStatusJson;
        return j.phase === "idle" ? j : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: "the rotation to complete" },
    );
    expect(failures).toEqual([]);
    expect(done.current!.fingerprint).toBe(newFp);
    expect(done.retired!.fingerprint).toBe(oldFp);
    expect(pems(done.bundle_pem)).toHaveLength(1);
    const newCaPem = pems(done.bundle_pem)[0]!;

    // Every host's certificate is signed by the new CA; each agent is told to trust it alone.
    for (const i of [1, 2, 3]) expect(signedBy(await readFile(join(c.hostDir(i), "identity", "host.crt"), "utf8"), newCaPem)).toBe(true);
    await waitFor(async () => (await Promise.all([1, 2, 3].map(async (i) => (await readFile(join(c.hostDir(i), "identity", "ca.crt"), "utf8")).trim()))).every((p) => p === newCaPem) || undefined, {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: "every agent to store the new CA alone",
    });
    expect(signedBy(newCaPem, newCaPem)).toBe(true);
    expect(signedBy(newCaPem, oldCaPem)).toBe(false);

    // The controller serves a certificate of the new CA: agents that trust only it reconnect (another restart).
    await c.killController();
    await c.startController();
    c.caFile = opCa;
    const back = await c.waitForHosts((hs) => hs.length === 3 && hs.every((h) => h.connected && h.status === "ready"), "every host back on the new CA", 30_000);
    for (const h of back) expect(h.connected_cert_serial).toBe(h.cert_serial);
    // This operator still works (its file holds both); one who never fetched the bundle is refused at TLS.
    expect((await c.cli(["hosts"])).code).toBe(0);
    c.caFile = otherCa;
    expect((await c.cli(["hosts"])).code).not.toBe(0);
    c.caFile = opCa;

    // Nothing visible happened: same processes, same epochs, no host down, nothing replaced.
    const now = await c.waitForStatus("steady", (s) => healthyOn(s).length === 3, "steady healthy after the rotation");
    expect(now.instances.map((i) => [i.host, i.pid, i.epoch])).toEqual(st.instances.map((i) => [i.host, i.pid, i.epoch]));
    const events = (await c.events()).filter((e) => e.time_ms >= t1);
    expect(events.filter((e) => ["host.down", "instance.lost", "instance.placed", "instance.stopped", "instance.moved"].includes(e.type))).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["ca.rotation.started", "ca.rotated"]));
  });
});
