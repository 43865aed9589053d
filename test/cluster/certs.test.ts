/**
 * Issue 13, certificates, on a real fleet: host certificates renew over the
 * stream with nothing visible (no host down, no instance touched) and the new
 * one is used after a reconnect.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Cluster, type StatusJson } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { svcSpec } from "./harness/specs.js";

const healthyOn = (s: StatusJson): string[] => s.instances.filter((i) => i.state === "healthy").map((i) => i.host);

describe("certificate renewal in a running fleet (--cert-ttl 20s)", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 3, certTtl: "20s" });
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it("every host renews, the new serial is in use after a reconnect, no host goes down and no instance restarts", async () => {
    const r = await c.apply(await c.specDir("steady", { "steady.yaml": svcSpec("steady", { instances: 2, args: ["server.js", "--tag=steady"], stopTimeout: "2s" }) }));
    expect(r.code, r.stderr).toBe(0);
    const st = await c.waitForStatus("steady", (s) => healthyOn(s).length === 2, "2 healthy steady");
    const t1 = Date.now();
    const joined = new Map((await c.hosts()).map((h) => [h.id, h]));
    for (const h of joined.values()) {
      expect(h.cert_serial).not.toBe("");
      // 20 s from the join, give or take the backdating.
      expect(h.cert_expires_ms - Date.now()).toBeLessThanOrEqual(21_000);
      expect(h.connected_cert_serial).toBe(h.cert_serial);
    }

    // Renewal at ~2/3 of the life (~13 s): every host's record names a new serial,
    // while each stream still runs on the certificate it connected with.
    const renewed = await c.waitForHosts(
      (hs) => hs.length === 3 && hs.every((h) => h.cert_serial !== joined.get(h.id)?.cert_serial),
      "every host's certificate renewed",
      40_000,
    );
    for (const h of renewed) expect(h.cert_expires_ms).toBeGreaterThan(joined.get(h.id)!.cert_expires_ms);

    // A reconnect (the controller restarts): each agent dials with what it stored.
    await c.killController();
    await c.startController();
    const after = await c.waitForHosts((hs) => hs.length === 3 && hs.every((h) => h.connected && h.status === "ready"), "every host back", 30_000);
    for (const h of after) {
      expect(h.connected_cert_serial).not.toBe(joined.get(h.id)!.cert_serial);
      // The serial in use is one the controller issued by renewal (the latest, or the one before if a renewal landed meanwhile).
      expect(h.connected_cert_serial).not.toBe("");
    }

    // Nothing visible happened: same processes, same epochs, no host down, nothing replaced.
    const now = await c.waitForStatus("steady", (s) => healthyOn(s).length === 2, "steady healthy after the restart");
    expect(now.instances.map((i) => [i.host, i.pid, i.epoch])).toEqual(st.instances.map((i) => [i.host, i.pid, i.epoch]));
    const events = (await c.events()).filter((e) => e.time_ms >= t1);
    expect(events.filter((e) => ["host.down", "instance.lost", "instance.placed", "instance.stopped", "instance.moved"].includes(e.type))).toEqual([]);
    // And the renewals keep coming after the reconnect, on the new certificates.
    const second = new Map(after.map((h) => [h.id, h.cert_serial]));
    await waitFor(async () => (await c.hosts()).every((h) => h.cert_serial !== second.get(h.id)), { timeoutMs: 40_000, intervalMs: 250, what: "a second renewal of every host" });
  });
});
