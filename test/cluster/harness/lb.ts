/**
 * Load balancers for the `berth lb` tests: Debian's HAProxy and nginx, each a
 * process of its own on the controller's node with its config in the cluster's
 * temp dir (never the system services), `berth lb` following them, and a load
 * generator sending requests through them. All are spawned through the topology,
 * so destroy() kills them, also when a test fails.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BERTH_MAIN, ROOT, type Cluster } from "./cluster.js";
import { recentOutput } from "./topology.js";
import { waitFor } from "./wait.js";
import { haproxyCommand } from "../../../cli/lb/haproxy-socket.js";
import { parseServersState, type CurrentServer } from "../../../cli/lb/haproxy-plan.js";

const LOAD = resolve(ROOT, "test/fixtures/lb-load.mjs");
export const HAPROXY_PORT = 18080;
export const NGINX_PORT = 18081;
export const LB_METRICS_PORT = 9466;

export interface Haproxy {
  proc: ChildProcess;
  socket: string;
  config: string;
  url: string;
  servers(): Promise<CurrentServer[]>;
}

export async function startHaproxy(c: Pick<Cluster, "topo">, dir: string): Promise<Haproxy> {
  await mkdir(dir, { recursive: true });
  const socket = join(dir, "admin.sock");
  const config = join(dir, "haproxy.cfg");
  const addr = c.topo.controllerAddr;
  await writeFile(
    config,
    `global
    stats socket ${socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend fe
    bind ${addr}:${HAPROXY_PORT}
    default_backend app

backend app
    balance roundrobin
`,
  );
  const proc = c.topo.spawn(0, ["/usr/sbin/haproxy", "-db", "-f", config]);
  const servers = async (): Promise<CurrentServer[]> => parseServersState(await haproxyCommand(socket, "show servers state app"), "app");
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`haproxy exited ${proc.exitCode}: ${recentOutput(proc).stderr}`);
      await servers();
      return true;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: "haproxy's socket" },
  );
  return { proc, socket, config, url: `http://${addr}:${HAPROXY_PORT}`, servers };
}

export interface Nginx {
  proc: ChildProcess;
  config: string;
  upstreamFile: string;
  errorLog: string;
  url: string;
  /** "SIGHUP received" notices in nginx's error log: one per reload it took. */
  reloads(): Promise<number>;
}

/** An nginx.conf of a test's own: no system paths, everything under dir, proxying to the upstream file's `web`. */
export function nginxTestConfig(o: { dir: string; upstreamFile: string; errorLog: string; listen: string }): string {
  const tmp = join(o.dir, "tmp");
  return `daemon off;
master_process on;
worker_processes 1;
pid ${join(o.dir, "nginx.pid")};
error_log ${o.errorLog} notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${tmp};
    proxy_temp_path ${tmp};
    fastcgi_temp_path ${tmp};
    uwsgi_temp_path ${tmp};
    scgi_temp_path ${tmp};
    include ${o.upstreamFile};
    server {
        listen ${o.listen};
        location / {
            proxy_pass http://web;
            proxy_buffering off;
        }
    }
}
`;
}

export async function startNginx(c: Cluster, dir: string): Promise<Nginx> {
  await mkdir(join(dir, "tmp"), { recursive: true });
  const config = join(dir, "nginx.conf");
  const upstreamFile = join(dir, "web-upstream.conf");
  const errorLog = join(dir, "error.log");
  const addr = c.topo.controllerAddr;
  await writeFile(upstreamFile, "upstream web {\n    server 127.0.0.1:9 down;\n}\n");
  await writeFile(config, nginxTestConfig({ dir, upstreamFile, errorLog, listen: `${addr}:${NGINX_PORT}` }));
  const proc = c.topo.spawn(0, ["/usr/sbin/nginx", "-c", config, "-e", errorLog]);
  const reloads = async (): Promise<number> => ((await readFile(errorLog, "utf8").catch(() => "")).match(/SIGHUP\) received/g) ?? []).length;
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}: ${recentOutput(proc).stderr}`);
      return (await readFile(errorLog, "utf8").catch(() => "")).includes("start worker process");
    },
    { timeoutMs: 15_000, intervalMs: 100, what: "nginx to start" },
  );
  return { proc, config, upstreamFile, errorLog, url: `http://${addr}:${NGINX_PORT}`, reloads };
}

export async function lbToken(c: Cluster): Promise<string> {
  const r = await c.cli(["token", "create", "--role", "lb", "--description", "lb test"]);
  if (r.code !== 0) throw new Error(`token create --role lb: ${r.stderr}`);
  return r.stdout.trim();
}

/** `berth lb KIND …` on the controller's node, with an lb token; its metrics on that node's address. */
export function startLb(c: Cluster, token: string, args: string[]): ChildProcess {
  return c.topo.spawn(0, [process.execPath, BERTH_MAIN, "lb", ...args, "--name", "lb1", "--metrics-addr", `${c.topo.controllerAddr}:${LB_METRICS_PORT}`], { env: c.env(token) });
}

export async function lbMetric(c: Cluster, name: string): Promise<number> {
  const text = await c.scrape(`http://${c.topo.controllerAddr}:${LB_METRICS_PORT}/metrics`);
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

export interface Result {
  t: number;
  end: number;
  kind: "short" | "long";
  ok: boolean;
  instance?: string;
  version?: string;
  error?: string;
}

/** The load generator (test/fixtures/lb-load.mjs) on the controller's node. */
export class Load {
  private constructor(
    private readonly proc: ChildProcess,
    readonly file: string,
  ) {}

  static async start(c: Cluster, url: string, file: string, o: { intervalMs?: number; longEveryMs?: number } = {}): Promise<Load> {
    const proc = c.topo.spawn(0, [process.execPath, LOAD, url, file, String(o.intervalMs ?? 20), String(o.longEveryMs ?? 400)]);
    const l = new Load(proc, file);
    await waitFor(async () => ((await l.results()).filter((x) => x.ok).length >= 20 ? true : undefined), { timeoutMs: 20_000, intervalMs: 100, what: "answers through the load balancer" });
    return l;
  }

  async results(): Promise<Result[]> {
    const text = await readFile(this.file, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Result);
  }

  /** Stops sending, waits for every request in flight (long ones included) to end. */
  async stop(): Promise<Result[]> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await exited;
    }
    return this.results();
  }
}
