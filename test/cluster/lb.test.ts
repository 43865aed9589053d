/**
 * Issue 16 on a real topology: `berth lb` keeping Debian's HAProxy (runtime API)
 * and nginx (upstream file, nginx -t, reload) in step with a service's endpoints,
 * under a steady stream of requests and long (2 s) downloads sent through them.
 *   - a rolling update of 4 instances on 5 hosts: zero failed requests, every long
 *     request completed;
 *   - the controller killed and restarted: HAProxy's backend is untouched;
 *   - berth drain of a host under load: its copy leaves HAProxy drainTime before it
 *     stops, zero failed requests;
 *   - a host killed under load: only the requests sent to it before it left the
 *     backend fail, and they are counted (README, "Load balancers").
 */
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "./harness/cluster.js";
import { svcSpec } from "./harness/specs.js";
import { recentOutput } from "./harness/topology.js";
import { waitFor } from "./harness/wait.js";
import { lbMetric, lbToken, Load, startHaproxy, startLb, startNginx, type Haproxy, type Nginx, type Result } from "./harness/lb.js";

function spec(v: string, instances = 4): string {
  return svcSpec("web", {
    instances,
    env: { V: v },
    stopTimeout: "10s",
    health: { interval: "200ms", timeout: "150ms", healthyThreshold: 1, unhealthyThreshold: 2 },
    // drainTime covers a 2 s download plus the load balancer's propagation.
    update: { maxUnavailable: 1, minHealthyTime: "1s", drainTime: "3s", healthyDeadline: "20s", progressDeadline: "2m" },
  });
}

const failed = (rs: Result[]): Result[] => rs.filter((r) => !r.ok);

async function rollTo(c: Cluster, v: string): Promise<void> {
  const applied = await c.apply(await c.specDir(`web-${v}`, { "web.yaml": spec(v) }));
  expect(applied.code, applied.stderr).toBe(0);
  const watched = await c.cli(["rollout", "status", "web", "-w"], { timeoutMs: 150_000 });
  expect(watched.code, watched.stdout + watched.stderr).toBe(0);
}

async function lbShowsApplied(c: Cluster, kind: string): Promise<void> {
  await waitFor(
    async () => {
      const r = await c.cli(["endpoints", "web"]);
      return new RegExp(`lb1\\s+${kind}\\s+this list`).test(r.stdout) ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `berth endpoints web to show lb1 (${kind}) has applied the current list` },
  );
}

/**
 * For each rollout batch (its drain starts drainTime), how long until the load
 * balancer had taken the drained copy out: the next log line of berth lb matching
 * `applied` after the batch's event. Both clocks are this machine's.
 */
async function propagationMs(c: Cluster, lb: ChildProcess, applied: RegExp): Promise<number[]> {
  const batches = (await c.events()).filter((e) => e.type === "rollout.batch").map((e) => e.time_ms);
  const times = recentOutput(lb)
    .stdout.split("\n")
    .filter((l) => applied.test(l))
    .map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
  return batches.map((b) => (times.find((t) => t >= b) ?? Infinity) - b);
}

function dump(procs: Record<string, ChildProcess | undefined>): string {
  return Object.entries(procs)
    .map(([k, p]) => (p ? `--- ${k}\n${recentOutput(p).stdout}${recentOutput(p).stderr}` : ""))
    .join("\n");
}

describe("berth lb haproxy: live servers through the runtime API", () => {
  let c: Cluster;
  let hp: Haproxy;
  let lb: ChildProcess;
  let load: Load | undefined;
  const ready = async (n: number): Promise<void> => {
    await waitFor(async () => ((await hp.servers()).filter((s) => s.admin === "ready").length === n ? true : undefined), { timeoutMs: 60_000, intervalMs: 100, what: `${n} ready servers in HAProxy` });
  };

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 5, ttl: "3s", heartbeat: "500ms" });
    expect((await c.apply(await c.specDir("web-1", { "web.yaml": spec("1") }))).code).toBe(0);
    hp = await startHaproxy(c, join(c.dir, "haproxy"));
    lb = startLb(c, await lbToken(c), ["haproxy", "--service", "web", "--backend", "app", "--socket", hp.socket, "--config", hp.config]);
    await ready(4);
  }, 180_000);
  afterEach(async ({ task }) => {
    await load?.stop();
    load = undefined;
    if (task.result?.state === "fail") console.error((await c?.dumpLogs()) + dump({ lb, haproxy: hp?.proc }));
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it("a rolling update of 4 instances under load: zero failed requests, every long request completed, HAProxy never reloaded", async () => {
    load = await Load.start(c, hp.url, join(c.dir, "hp-roll.jsonl"));
    await rollTo(c, "2");
    await waitFor(async () => ((await load!.results()).filter((r) => r.kind === "short").slice(-40).every((r) => r.ok && r.version === "2") ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: "every answer from revision 2" });
    const rs = await load.stop();
    load = undefined;
    expect(failed(rs)).toEqual([]);
    const longs = rs.filter((r) => r.kind === "long");
    expect(longs.length).toBeGreaterThan(20);
    expect(longs.every((r) => r.ok)).toBe(true);
    // The servers changed live: the same HAProxy process, and its config file has them for a restart.
    expect(hp.proc.exitCode).toBeNull();
    await ready(4);
    const servers = (await hp.servers()).map((s) => s.name).sort();
    const cfg = await readFile(hp.config, "utf8");
    expect(cfg.match(/^\s+server (\S+)/gm)?.map((l) => l.trim().split(" ")[1]).sort()).toEqual(servers);
    await lbShowsApplied(c, "haproxy");
    expect(await lbMetric(c, "berth_lb_changes_applied_total")).toBeGreaterThan(1);
    // Out of the load balancer well within drainTime (3 s), so no request reaches a stopping copy.
    const prop = await propagationMs(c, lb, /state drain/);
    expect(prop.length).toBe(4);
    expect(Math.max(...prop)).toBeLessThan(1000);
    console.log(`haproxy rolling update: ${rs.length} requests (${longs.length} long), ${failed(rs).length} failed; drain → out of HAProxy: ${prop.join(", ")} ms`);
  }, 240_000);

  it("the controller killed and restarted: HAProxy's backend is untouched throughout", async () => {
    const before = JSON.stringify(await hp.servers());
    load = await Load.start(c, hp.url, join(c.dir, "hp-ctl.jsonl"));
    const snapshots: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        snapshots.push(JSON.stringify(await hp.servers()));
        await new Promise((r) => setTimeout(r, 50)); // the sampling period, not a wait for a condition
      }
    })();
    // The controller's process alone (killController() would kill every process on
    // its node, HAProxy and berth lb included): SIGKILL, nothing said goodbye.
    const ctl = c.controller!;
    const exited = new Promise((r) => ctl.once("exit", r));
    process.kill(-ctl.pid!, "SIGKILL");
    await exited;
    await waitFor(async () => ((await lbMetric(c, "berth_lb_watch_connected")) === 0 ? true : undefined), { timeoutMs: 20_000, intervalMs: 100, what: "berth lb to see the watch lost" });
    await c.startController();
    await waitFor(async () => ((await lbMetric(c, "berth_lb_watch_connected")) === 1 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: "berth lb to follow the restarted controller" });
    await lbShowsApplied(c, "haproxy");
    polling = false;
    await poller;
    const rs = await load.stop();
    load = undefined;
    expect(snapshots.length).toBeGreaterThan(10);
    expect(snapshots.filter((s) => s !== before)).toEqual([]);
    expect(failed(rs)).toEqual([]);
    expect(await lbMetric(c, "berth_lb_errors_total")).toBeGreaterThanOrEqual(0);
  }, 180_000);

  it("berth drain of a host under load: the moved copy leaves HAProxy drainTime before it stops, zero failed requests", async () => {
    const st = await c.status("web");
    const victim = st.instances.find((i) => i.host_address)!;
    load = await Load.start(c, hp.url, join(c.dir, "hp-drain.jsonl"));
    const r = await c.cli(["drain", victim.host, "--wait", "--timeout", "90s"], { timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await ready(4);
    await waitFor(async () => ((await hp.servers()).some((s) => s.address === victim.host_address) ? undefined : true), { timeoutMs: 30_000, intervalMs: 50, what: "the drained host's server to be deleted from HAProxy" });
    const rs = await load.stop();
    load = undefined;
    const longs = rs.filter((r) => r.kind === "long");
    // The old copy left the endpoints (instance.draining) and stopped (instance.moved) drainTime (3 s) later.
    const ev = (await c.events()).filter((e) => e.service === "web");
    const draining = ev.find((e) => e.type === "instance.draining" && e.host === victim.host);
    const moved = ev.find((e) => e.type === "instance.moved" && draining !== undefined && e.seq > draining.seq);
    console.log(`haproxy host drain: ${rs.length} requests (${longs.length} long), ${failed(rs).length} failed; out of the endpoints → stopped: ${moved && draining ? moved.time_ms - draining.time_ms : "?"} ms`);
    expect(draining, "an instance.draining event for the drained host").toBeTruthy();
    // Event times are commit times: the draining one may be stamped up to a commit later than the drain began.
    expect(moved!.time_ms - draining!.time_ms).toBeGreaterThanOrEqual(2500);
    expect(failed(rs)).toEqual([]);
    expect(longs.length).toBeGreaterThan(3);
    expect(longs.every((r) => r.ok)).toBe(true);
    // The next test needs a spare for its failover.
    expect((await c.cli(["uncordon", victim.host])).code).toBe(0);
  }, 240_000);

  it("a scale down under load (4 → 3): the copy leaves HAProxy drainTime before it stops, zero failed requests; scaled up again", async () => {
    load = await Load.start(c, hp.url, join(c.dir, "hp-scale.jsonl"));
    const down = await c.apply(await c.specDir("web-scale-3", { "web.yaml": spec("2", 3) }));
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).not.toMatch(/rolls out/);
    await c.waitForStatus("web", (s) => s.instances.length === 3, "web scaled down to 3 instances");
    await ready(3);
    const rs = await load.stop();
    load = undefined;
    const ev = (await c.events()).filter((e) => e.service === "web");
    const draining = ev.find((e) => e.type === "instance.draining" && /scaled down/.test(e.message));
    const stopped = ev.find((e) => e.type === "instance.stopped" && /scaled down/.test(e.message));
    console.log(`haproxy scale down: ${rs.length} requests, ${failed(rs).length} failed; out of the endpoints → stopped: ${stopped && draining ? stopped.time_ms - draining.time_ms : "?"} ms`);
    expect(draining, "an instance.draining event for the scaled-down copy").toBeTruthy();
    expect(stopped!.time_ms - draining!.time_ms).toBeGreaterThanOrEqual(2500);
    expect(failed(rs)).toEqual([]);
    const up = await c.apply(await c.specDir("web-scale-4", { "web.yaml": spec("2", 4) }));
    expect(up.code, up.stderr).toBe(0);
    await ready(4);
  }, 180_000);

  it("a host killed under load: only requests sent to it before it left the backend fail (counted)", async () => {
    const st = await c.status("web");
    const victim = st.instances.find((i) => i.host_address)!;
    const node = Array.from({ length: 5 }, (_, k) => k + 1).find((k) => c.topo.hostAddr(k) === victim.host_address)!;
    load = await Load.start(c, hp.url, join(c.dir, "hp-kill.jsonl"));
    const killedAt = Date.now();
    await c.topo.killHost(node);
    await waitFor(async () => ((await hp.servers()).some((s) => s.address === victim.host_address && s.admin === "ready") ? undefined : true), { timeoutMs: 30_000, intervalMs: 20, what: "the dead host to leave the backend" });
    const leftAt = Date.now();
    // Failover puts the instance on the spare host; HAProxy gets it back to 4.
    await ready(4);
    // The dead copy's server is retired (its hung sessions shut down past drainTime)
    // and deleted; HAProxy 2.6 crashed about a second after a delete of a server
    // with sessions, so it must still be there and answering well after.
    await waitFor(async () => ((await hp.servers()).some((s) => s.address === victim.host_address) ? undefined : true), { timeoutMs: 30_000, intervalMs: 50, what: "the dead host's server to be deleted from HAProxy" });
    const deletedAt = Date.now();
    await waitFor(async () => ((await load!.results()).filter((r) => r.kind === "short" && r.ok && r.t > deletedAt + 1500).length >= 20 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100, what: "answers through HAProxy from 1.5 s after the delete on" });
    expect(hp.proc.exitCode).toBeNull();
    expect(hp.proc.signalCode).toBeNull();
    const rs = await load.stop();
    load = undefined;
    const bad = failed(rs);
    const sentWhileThere = rs.filter((r) => r.t >= killedAt - 2500 && r.t <= leftAt);
    console.log(`haproxy host kill: ${bad.length} of ${rs.length} requests failed (${bad.filter((r) => r.kind === "long").length} long); the host left the backend ${leftAt - killedAt} ms after the kill; ${sentWhileThere.length} requests were sent in that window`);
    // Only requests started before the host left the backend (long ones up to 2 s before the kill) fail.
    expect(bad.filter((r) => r.t < killedAt - 2500 || r.t > leftAt + 100)).toEqual([]);
    expect(bad.length).toBeGreaterThan(0);
  }, 180_000);
});

describe("berth lb nginx: upstream file, nginx -t, reload", () => {
  let c: Cluster;
  let ng: Nginx;
  let lb: ChildProcess;
  let load: Load | undefined;
  const upstreamServers = async (): Promise<number> => ((await readFile(ng.upstreamFile, "utf8")).match(/^\s+server \d/gm) ?? []).length;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 5, ttl: "3s", heartbeat: "500ms" });
    expect((await c.apply(await c.specDir("web-1", { "web.yaml": spec("1") }))).code).toBe(0);
    ng = await startNginx(c, join(c.dir, "nginx"));
    lb = startLb(c, await lbToken(c), ["nginx", "--service", "web", "--upstream-file", ng.upstreamFile, "--nginx-config", ng.config, "--nginx-bin", "/usr/sbin/nginx", "--wait", "300ms:1500ms"]);
    await waitFor(async () => ((await upstreamServers()) === 4 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100, what: "4 servers in the upstream file" });
  }, 180_000);
  afterEach(async ({ task }) => {
    await load?.stop();
    load = undefined;
    if (task.result?.state === "fail") console.error((await c?.dumpLogs()) + dump({ lb, nginx: ng?.proc }) + (await readFile(ng.errorLog, "utf8").catch(() => "")));
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it("a rolling update of 4 instances under load: zero failed requests, every long request completed, few reloads", async () => {
    await lbShowsApplied(c, "nginx");
    load = await Load.start(c, ng.url, join(c.dir, "ng-roll.jsonl"));
    const reloadsBefore = await ng.reloads();
    await rollTo(c, "2");
    await waitFor(async () => ((await load!.results()).filter((r) => r.kind === "short").slice(-40).every((r) => r.ok && r.version === "2") ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: "every answer from revision 2" });
    const rs = await load.stop();
    load = undefined;
    const reloads = (await ng.reloads()) - reloadsBefore;
    const longs = rs.filter((r) => r.kind === "long");
    // Debounce (300 ms quiet, at most 1.5 s) plus nginx -t and the reload: within drainTime (3 s).
    const prop = await propagationMs(c, lb, /upstream file written, checked and reloaded/);
    console.log(`nginx rolling update: ${rs.length} requests (${longs.length} long), ${failed(rs).length} failed, ${reloads} reloads; drain → out of nginx: ${prop.join(", ")} ms`);
    expect(prop.length).toBe(4);
    expect(Math.max(...prop)).toBeLessThan(2500);
    expect(failed(rs)).toEqual([]);
    expect(longs.length).toBeGreaterThan(20);
    expect(longs.every((r) => r.ok)).toBe(true);
    // 4 copies each leave and come back (8 changes); a copy's return and the next
    // one's drain come together, and the debounce makes them one reload.
    expect(reloads).toBeGreaterThan(0);
    expect(reloads).toBeLessThanOrEqual(6);
    await lbShowsApplied(c, "nginx");
  }, 240_000);
});
