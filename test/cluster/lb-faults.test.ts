/**
 * `berth lb`'s shells against Debian's real nginx and HAProxy, fed lists directly
 * (no fleet needed): a burst of 20 changes is a few nginx reloads; a file that
 * fails `nginx -t` leaves the last good one in place and says why; an unreachable
 * HAProxy socket and a refused command are reported and retried, and the
 * load balancer catches up once it can. Each process runs on 127.0.0.1 with its
 * own temp dir and free port, and is stopped after.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../shared/log/logger.js";
import type { AppliedReport, DesiredList } from "../../cli/lb/driver.js";
import { HaproxyDriver } from "../../cli/lb/haproxy.js";
import { NginxDriver } from "../../cli/lb/nginx.js";
import { LbMetrics } from "../../cli/lb/metrics.js";
import { haproxyCommand } from "../../cli/lb/haproxy-socket.js";
import { parseServersState } from "../../cli/lb/haproxy-plan.js";
import { waitFor } from "./harness/wait.js";
import { nginxTestConfig } from "./harness/lb.js";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/**
 * SIGKILL of the server's whole process group (it is spawned detached, a group of its own):
 * nginx's workers outlive a master killed alone — each CI run left one or two behind.
 */
async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.pid === undefined) return;
  const exited = p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once("exit", r));
  try {
    process.kill(-p.pid, "SIGKILL");
  } catch {
    // the group is gone already
  }
  await exited;
}

const list = (n: number, version: string, base = 20000): DesiredList => ({
  version,
  drainTimeMs: 1000,
  servers: Array.from({ length: n }, (_, i) => ({ name: `web-${i}_h${i}`, address: "127.0.0.1", port: base + i })),
});

function deps(metrics: LbMetrics, reports: AppliedReport[]): ConstructorParameters<typeof NginxDriver>[0] {
  return { log: createLogger("lb-test", "silent"), metrics, now: Date.now, report: (r) => reports.push(r) };
}

async function counter(m: LbMetrics, name: string, label?: Record<string, string>): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = metric?.values.find((x) => !label || Object.entries(label).every(([k, val]) => x.labels[k] === val));
  return Number(v?.value ?? 0);
}

describe("berth lb nginx against a real nginx", () => {
  let dir: string;
  let nginx: ChildProcess | undefined;
  let config: string;
  let upstreamFile: string;
  let errorLog: string;
  const reloads = async (): Promise<number> => ((await readFile(errorLog, "utf8").catch(() => "")).match(/SIGHUP\) received/g) ?? []).length;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-lb-nginx-"));
    await mkdir(join(dir, "tmp"));
    config = join(dir, "nginx.conf");
    upstreamFile = join(dir, "up.conf");
    errorLog = join(dir, "error.log");
    await writeFile(upstreamFile, "upstream web {\n    server 127.0.0.1:9 down;\n}\n");
    await writeFile(config, nginxTestConfig({ dir, upstreamFile, errorLog, listen: `127.0.0.1:${await freePort()}` }));
    nginx = spawn("/usr/sbin/nginx", ["-c", config, "-e", errorLog], { stdio: "ignore", detached: true });
    await waitFor(async () => (await readFile(errorLog, "utf8").catch(() => "")).includes("start worker process"), { timeoutMs: 15_000, what: "nginx to start" });
  });
  afterAll(async () => {
    await stop(nginx);
    await rm(dir, { recursive: true, force: true });
  });

  const driver = (metrics: LbMetrics, reports: AppliedReport[]): NginxDriver =>
    new NginxDriver(deps(metrics, reports), { service: "web", upstream: "web", upstreamFile, nginx: "/usr/sbin/nginx", nginxConfig: config, wait: { quietMs: 300, maxMs: 1500 } });

  it("20 changes in a burst: nginx reloaded at most a few times, and the last list is what it runs", async () => {
    const metrics = new LbMetrics();
    const reports: AppliedReport[] = [];
    const d = driver(metrics, reports);
    const before = await reloads();
    // 20 lists 50 ms apart (1 s): a rollout's worth of changes.
    for (let i = 1; i <= 20; i++) {
      d.set(list((i % 5) + 1, `v${i}`));
      await new Promise((r) => setTimeout(r, 50)); // the burst's pacing, not a wait for a condition
    }
    await waitFor(() => (reports.at(-1)?.version === "v20" ? true : undefined), { timeoutMs: 10_000, what: "the last list applied" });
    const n = (await reloads()) - before;
    console.log(`nginx burst: 20 changes in 1 s → ${n} reloads (berth_lb_reloads_total ${await counter(metrics, "berth_lb_reloads_total")})`);
    expect(n).toBeGreaterThan(0);
    // One when the burst keeps its pace (quiet 300 ms after the last change); a loaded machine stretching it past MAX makes it two or three.
    expect(n).toBeLessThanOrEqual(3);
    expect(await readFile(upstreamFile, "utf8")).toContain(`server 127.0.0.1:20000; # web-0_h0`);
    expect((await readFile(upstreamFile, "utf8")).match(/server 127/g)).toHaveLength((20 % 5) + 1);
    await d.close();
  });

  it("a file that fails nginx -t: the last good file stays in place, the error says why, the next good list applies", async () => {
    const metrics = new LbMetrics();
    const reports: AppliedReport[] = [];
    const d = driver(metrics, reports);
    d.set(list(2, "good1"));
    await waitFor(() => (reports.at(-1)?.version === "good1" ? true : undefined), { timeoutMs: 10_000, what: "the first list applied" });
    const good = await readFile(upstreamFile, "utf8");
    const before = await reloads();
    // No such host: nginx -t fails resolving it.
    d.set({ version: "bad", drainTimeMs: 0, servers: [{ name: "x", address: "no-such-host.invalid", port: 80 }] });
    await waitFor(() => (reports.at(-1)?.error ? reports.at(-1) : undefined), { timeoutMs: 10_000, what: "the failed check reported" });
    const r = reports.at(-1)!;
    expect(r.version).toBe("good1");
    expect(r.error).toMatch(/nginx -t failed .*last good file is back.*no-such-host\.invalid/);
    expect(await readFile(upstreamFile, "utf8")).toBe(good);
    expect(await counter(metrics, "berth_lb_errors_total", { what: "check" })).toBeGreaterThanOrEqual(1);
    expect(await reloads()).toBe(before);
    d.set(list(3, "good2"));
    await waitFor(() => (reports.at(-1)?.version === "good2" && reports.at(-1)?.error === "" ? true : undefined), { timeoutMs: 15_000, what: "the next good list applied" });
    await d.close();
  });
});

describe("berth lb haproxy against a real HAProxy", () => {
  let dir: string;
  let haproxy: ChildProcess | undefined;
  let socket: string;
  let config: string;
  let frontPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-lb-haproxy-"));
    frontPort = await freePort();
    socket = join(dir, "admin.sock");
    config = join(dir, "haproxy.cfg");
    await writeFile(
      config,
      `global
    stats socket ${socket} mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${frontPort}
    default_backend app
backend app
    balance roundrobin
`,
    );
  });
  afterAll(async () => {
    await stop(haproxy);
    await rm(dir, { recursive: true, force: true });
  });

  it("an unreachable socket is reported and retried; once HAProxy is there the list is applied without a new one", async () => {
    const metrics = new LbMetrics();
    const reports: AppliedReport[] = [];
    const d = new HaproxyDriver(deps(metrics, reports), { service: "web", backend: "app", socket, config });
    d.set(list(2, "v1"));
    await waitFor(() => (reports.at(-1)?.error ? reports.at(-1) : undefined), { timeoutMs: 10_000, what: "the socket failure reported" });
    expect(reports.at(-1)!.error).toMatch(/cannot use HAProxy's socket .*admin\.sock: (ENOENT|ECONNREFUSED)/);
    expect(await counter(metrics, "berth_lb_errors_total", { what: "socket" })).toBeGreaterThanOrEqual(1);
    haproxy = spawn("/usr/sbin/haproxy", ["-db", "-f", config], { stdio: "ignore", detached: true });
    await waitFor(() => (reports.at(-1)?.version === "v1" && reports.at(-1)?.error === "" ? true : undefined), { timeoutMs: 20_000, what: "the list applied once HAProxy answers" });
    const servers = parseServersState(await haproxyCommand(socket, "show servers state app"), "app");
    expect(servers.map((s) => [s.name, s.admin])).toEqual([
      ["web-0_h0", "ready"],
      ["web-1_h1", "ready"],
    ]);
    expect((await readFile(config, "utf8")).match(/^\s+server /gm)).toHaveLength(2);
    await d.close();
  });

  it("a refused command (no such backend) is reported with HAProxy's answer, and the backend is left as it is", async () => {
    const metrics = new LbMetrics();
    const reports: AppliedReport[] = [];
    const d = new HaproxyDriver(deps(metrics, reports), { service: "web", backend: "nope", socket });
    d.set(list(1, "v1"));
    await waitFor(() => (reports.at(-1)?.error ? reports.at(-1) : undefined), { timeoutMs: 10_000, what: "the refusal reported" });
    expect(reports.at(-1)!.error).toMatch(/backend nope: .*(Can't find backend|No such backend)/i);
    expect(await counter(metrics, "berth_lb_errors_total", { what: "command" })).toBeGreaterThanOrEqual(1);
    await d.close();
    expect(parseServersState(await haproxyCommand(socket, "show servers state app"), "app")).toHaveLength(2);
  });

  it("a leaving server is not deleted while a stream is still on it, even one HAProxy counts no session for", async () => {
    // Nothing listens on the server's port: the request's connection is refused and
    // HAProxy retries it on the same server after a 1 s turn-around, during which its
    // stream points at the server but scur is 0. HAProxy 2.6 deletes such a server
    // and crashes when the stream comes back to it.
    const metrics = new LbMetrics();
    const reports: AppliedReport[] = [];
    const d = new HaproxyDriver(deps(metrics, reports), { service: "web", backend: "app", socket });
    const slow = { name: "retried_h9", address: "127.0.0.1", port: 20009 };
    const other = { name: "other_h8", address: "127.0.0.1", port: 20008 };
    const servers = async () => parseServersState(await haproxyCommand(socket, "show servers state app"), "app").map((x) => `${x.name}:${x.admin}`);
    d.set({ version: "s1", drainTimeMs: 30_000, servers: [slow] });
    await waitFor(async () => ((await servers()).join() === "retried_h9:ready" ? true : undefined), { timeoutMs: 10_000, what: "retried_h9 alone in the backend" });
    let endedAt = 0;
    const req = new Promise<void>((resolve) => {
      get({ host: "127.0.0.1", port: frontPort, path: "/", agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve());
      }).on("error", () => resolve());
    }).then(() => void (endedAt = Date.now()));
    await waitFor(async () => ((await haproxyCommand(socket, "show sess")).includes(" be=app srv=retried_h9 ") ? true : undefined), { timeoutMs: 5000, intervalMs: 20, what: "the request's stream on retried_h9" });
    d.set({ version: "s2", drainTimeMs: 30_000, servers: [other] });
    // Until it is gone, look often: the moment it is seen gone the request must have ended.
    let inFlightWhenGone = false;
    await waitFor(
      async () => {
        if ((await servers()).some((x) => x.startsWith("retried_h9:"))) return undefined;
        inFlightWhenGone = endedAt === 0;
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 20, what: "retried_h9 deleted" },
    );
    await req;
    expect(inFlightWhenGone, "retried_h9 was deleted while its request was still in flight").toBe(false);
    expect(haproxy!.exitCode).toBeNull();
    expect(await servers()).toEqual(["other_h8:ready"]);
    await d.close();
  });
});
