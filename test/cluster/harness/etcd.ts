/**
 * Real etcd members for tests: Debian's etcd-server 3.4 binary (/usr/bin/etcd), never its
 * system service. Each cluster gets loopback addresses of its own (127.<a>.<b>.1 … .N, all
 * loopback on Linux), so two test files, or two helpers' tests on one machine, never
 * share a port; data lives in a temp dir that stop() removes. Every member is started
 * with a short heartbeat and election timeout, as a test wants a leader loss noticed in
 * about a second (these are etcd's own defaults: 100 ms, 1000 ms).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./wait.js";

export const ETCD_BIN = process.env.BERTH_TEST_ETCD ?? "/usr/bin/etcd";
export const CLIENT_PORT = 12379;
export const PEER_PORT = 12380;

export interface EtcdTls {
  /** CA that signed the member certificates and the client certificates etcd accepts. */
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface EtcdMember {
  name: string;
  address: string;
  /** host:port of its client URL. */
  endpoint: string;
  proc: ChildProcess | undefined;
  /** The last lines it printed, for failure messages. */
  output: string[];
}

export interface EtcdClusterOptions {
  members?: number;
  /** Serve clients over TLS with client-certificate auth. */
  tls?: EtcdTls;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client endpoints, "host:port". */
  endpoints: string[];
  /** "etcd://h:p,h:p,…", what `berth controller --store` takes. */
  url: string;
  /** The member that is raft leader now (etcd_server_is_leader in each member's /metrics). */
  leader(): Promise<EtcdMember>;
  /** SIGKILL one member and wait until it has exited. */
  kill(member: EtcdMember): Promise<void>;
  /** SIGSTOP / SIGCONT a member. */
  pause(member: EtcdMember): void;
  resume(member: EtcdMember): void;
  /** Start a killed member again on its data dir. */
  restart(member: EtcdMember): Promise<void>;
  /** Kill every member and remove the data; safe to call twice and after failures. */
  stop(): Promise<void>;
}

const OUTPUT_LINES = 40;

/** Starts an N-member cluster (default 3) and waits until every member is healthy. */
export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const n = opts.members ?? 3;
  // A random /16 of 127/8 per cluster: no two clusters share an address.
  const base = `127.${randomInt(1, 250)}.${randomInt(1, 250)}`;
  const dir = await mkdtemp(join(tmpdir(), "berth-etcd-"));
  const scheme = opts.tls ? "https" : "http";
  const members: EtcdMember[] = Array.from({ length: n }, (_, i) => {
    const address = `${base}.${i + 1}`;
    return { name: `m${i + 1}`, address, endpoint: `${address}:${CLIENT_PORT}`, proc: undefined, output: [] };
  });
  const initialCluster = members.map((m) => `${m.name}=http://${m.address}:${PEER_PORT}`).join(",");
  const token = `berth-test-${base}`;

  const launch = (m: EtcdMember, state: "new" | "existing"): void => {
    const args = [
      `--name=${m.name}`,
      `--data-dir=${join(dir, m.name)}`,
      `--listen-peer-urls=http://${m.address}:${PEER_PORT}`,
      `--initial-advertise-peer-urls=http://${m.address}:${PEER_PORT}`,
      `--listen-client-urls=${scheme}://${m.address}:${CLIENT_PORT}`,
      `--advertise-client-urls=${scheme}://${m.address}:${CLIENT_PORT}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${state}`,
      `--initial-cluster-token=${token}`,
      "--heartbeat-interval=100",
      "--election-timeout=1000",
      "--logger=zap",
      "--log-level=warn",
    ];
    if (opts.tls) {
      args.push(`--trusted-ca-file=${opts.tls.caFile}`, `--cert-file=${opts.tls.certFile}`, `--key-file=${opts.tls.keyFile}`, "--client-cert-auth");
    }
    const proc = spawn(ETCD_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    m.proc = proc;
    m.output = [];
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString("utf8").split("\n")) if (line) m.output.push(line);
      if (m.output.length > OUTPUT_LINES) m.output.splice(0, m.output.length - OUTPUT_LINES);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    proc.on("error", (err) => m.output.push(`spawn error: ${err.message}`));
  };

  const exited = (proc: ChildProcess): Promise<void> =>
    proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((resolve) => proc.once("exit", () => resolve()));

  let stopped = false;
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.endpoint),
    url: `etcd://${members.map((m) => m.endpoint).join(",")}`,
    async leader() {
      return waitFor(
        async () => {
          for (const m of members) {
            if (!running(m)) continue;
            const status = await memberStatus(m, opts.tls).catch(() => undefined);
            if (status?.isLeader) return m;
          }
          return undefined;
        },
        { timeoutMs: 15_000, what: "an etcd raft leader" },
      );
    },
    async kill(m) {
      const proc = m.proc;
      if (!proc || !running(m)) return;
      proc.kill("SIGCONT");
      proc.kill("SIGKILL");
      await exited(proc);
    },
    pause(m) {
      m.proc?.kill("SIGSTOP");
    },
    resume(m) {
      m.proc?.kill("SIGCONT");
    },
    async restart(m) {
      await cluster.kill(m);
      launch(m, "existing");
      await waitHealthy([m], opts.tls);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(members.map((m) => cluster.kill(m)));
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    for (const m of members) launch(m, "new");
    await waitHealthy(members, opts.tls);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

function running(m: EtcdMember): boolean {
  return m.proc !== undefined && m.proc.exitCode === null && m.proc.signalCode === null;
}

/** etcd's /health says {"health":"true"} once the member has a leader and serves reads. */
async function waitHealthy(members: EtcdMember[], tls: EtcdTls | undefined): Promise<void> {
  await Promise.all(
    members.map((m) =>
      waitFor(
        async () => {
          if (!running(m)) throw new Error(`etcd ${m.name} exited: ${m.output.slice(-5).join(" | ")}`);
          const body = await httpGet(m, "/health", tls);
          return /"health":\s*"true"/.test(body);
        },
        { timeoutMs: 20_000, what: `etcd ${m.name} at ${m.endpoint} to be healthy` },
      ).catch((err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}; its output: ${m.output.slice(-10).join("\n")}`);
      }),
    ),
  );
}

interface MemberStatus {
  isLeader: boolean;
}

/** etcd_server_is_leader from the member's /metrics: 1 on the raft leader. */
async function memberStatus(m: EtcdMember, tls: EtcdTls | undefined): Promise<MemberStatus> {
  const body = await httpGet(m, "/metrics", tls);
  const line = /^etcd_server_is_leader (\d+)/m.exec(body);
  if (!line) throw new Error(`no etcd_server_is_leader in /metrics of ${m.name}`);
  return { isLeader: line[1] === "1" };
}

async function httpGet(m: EtcdMember, path: string, tls: EtcdTls | undefined): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const mod = tls ? await import("node:https") : await import("node:http");
  const agentOpts = tls
    ? { ca: await readFile(tls.caFile), cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) }
    : {};
  return new Promise((resolve, reject) => {
    const req = mod.get(`${tls ? "https" : "http"}://${m.endpoint}${path}`, { ...agentOpts, timeout: 2_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(body));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} of ${m.name} timed out`)));
    req.on("error", reject);
  });
}
