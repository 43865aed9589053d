/**
 * Issue 13, certificates, on a real fleet: host certificates renew over the
 * stream with nothing visible (no host down, no instance touched) and the new
 * one is used after a reconnect; a host whose certificate expired while its agent
 * was off is told so, with the command that re-joins it keeping its id.
 */

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once("exit", (code) => r(code)));
}
import { beforeAll, describe, expect, it } from "vitest";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { Cluster, type StatusJson } from "./harness/cluster.js";
import { recentOutput } from "./harness/topology.js";
import { waitFor } from "./harness/wait.js";
import { svcSpec } from "./harness/specs.js";
import { tearDownWith } from "./harness/teardown.js";

const healthyOn = (s: StatusJson): string[] => s.instances.filter((i) => i.state === "healthy").map((i) => i.host);

describe("certificate renewal in a running fleet (--cert-ttl 20s)", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 3, certTtl: "20s" });
  });
  tearDownWith(() => c);

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

describe("an expired host certificate (--cert-ttl 10s)", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2, certTtl: "10s" });
  });
  tearDownWith(() => c);

  it("the agent exits naming the expiry and the re-join command; --rejoin brings the host back with its id", async () => {
    const id = await c.hostIdOf(2);
    await c.stopAgent(2);
    // "Off for months", in short: until the certificate it holds has expired.
    const certFile = join(c.hostDir(2), "identity", "host.crt");
    const notAfterMs = Date.parse(new X509Certificate(await readFile(certFile)).validTo);
    await waitFor(() => Date.now() > notAfterMs + 500 || undefined, { timeoutMs: 15_000, intervalMs: 100, what: "host 2's certificate to expire" });

    const again = c.startAgent(2);
    expect(await exited(again)).toBe(4); // EXIT.denied
    const out = recentOutput(again).stderr;
    expect(out).toContain(`the certificate of host ${id} expired at ${new Date(notAfterMs).toISOString()}`);
    expect(out).toContain(`berth agent --data-dir ${c.hostDir(2)} --rejoin --token-file ./join.token`);

    // The controller says so too: berth hosts, and an event.
    const h = (await c.hosts()).find((x) => x.id === id)!;
    expect(h.cert_expires_ms).toBeLessThanOrEqual(Date.now());
    const table = await c.cli(["hosts"]);
    expect(table.stdout).toMatch(new RegExp(`${id}.*EXPIRED`));
    await c.waitForEvent((e) => e.type === "cert.expired" && e.host === id, "a cert.expired event for the host");

    // The way out, as the message says: a join token in a file, --rejoin.
    const tokenFile = join(c.hostDir(2), "join.token");
    await writeFile(tokenFile, (await c.joinToken(1)) + "\n", { mode: 0o600 });
    c.startAgent(2, { extraArgs: ["--rejoin", "--token-file", tokenFile] });
    const back = await c.waitForHosts((hs) => hs.some((x) => x.id === id && x.status === "ready" && x.connected && x.cert_expires_ms > Date.now()), "the host back with its id", 30_000);
    expect(back).toHaveLength(2);
    expect((await c.events()).some((e) => e.type === "host.rejoined" && e.host === id)).toBe(true);
  });
});

describe("berth host remove", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 3 });
  });
  tearDownWith(() => c);

  it("needs admin; the removed host's agent stops its service and exits saying why, is refused after, and its instance runs elsewhere", async () => {
    const r = await c.apply(await c.specDir("one", { "one.yaml": svcSpec("one", { instances: 1, args: ["server.js", "--tag=one"], stopTimeout: "2s" }) }));
    expect(r.code, r.stderr).toBe(0);
    const st = await c.waitForStatus("one", (s) => healthyOn(s).length === 1, "one healthy");
    const victim = st.instances[0]!.host;
    const oldPid = st.instances[0]!.pid;
    const ids = await Promise.all([1, 2, 3].map((i) => c.hostIdOf(i)));
    const idx = ids.indexOf(victim) + 1;
    const agent = c.agents.get(idx)!;

    // An operator may not: removing a host takes a credential away.
    const opToken = (await c.cli(["token", "create", "--role", "operator"])).stdout.trim();
    const refused = await c.cli(["host", "remove", victim], { token: opToken });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/needs the admin role/);

    const out = await c.cli(["host", "remove", victim.slice(0, 6)]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`host ${victim}`);

    // The connected agent is told: it stops its service and exits, saying why.
    expect(await exited(agent)).toBe(4);
    expect(recentOutput(agent).stderr).toMatch(new RegExp(`host ${victim} was removed from the fleet`));
    await waitFor(() => { try { process.kill(oldPid, 0); return undefined; } catch { return true; } }, { timeoutMs: 15_000, intervalMs: 100, what: "the removed host's service to stop" });

    // Its record and claim are gone; its instance runs on another host.
    const moved = await c.waitForStatus("one", (s) => healthyOn(s).length === 1 && s.instances[0]!.host !== victim, "one healthy elsewhere");
    expect(ids).toContain(moved.instances[0]!.host);
    expect((await c.hosts()).map((h) => h.id)).not.toContain(victim);
    expect((await c.events()).some((e) => e.type === "host.removed" && e.host === victim)).toBe(true);

    // Started again, its certificate is refused (by serial): it exits at once, saying why.
    const again = c.startAgent(idx);
    expect(await exited(again)).toBe(4);
    expect(recentOutput(again).stderr).toMatch(/was removed at .*berth host remove.*certificate is refused/);
    expect((await c.hosts()).map((h) => h.id)).not.toContain(victim);
  });
});
