/**
 * Real etcd members for tests: Debian's etcd-server 3.4 binary (/usr/bin/etcd), never its
 * system service. Each cluster gets loopback addresses of its own (127.<a>.<b>.1 … .N, all
 * loopback on Linux), so two test files, or two helpers' tests on one machine, never
 * share a port; data lives in a temp dir that stop() removes. Every member is started
 * with a short heartbeat and election timeout, as a test wants a leader loss noticed in
 * about a second (these are etcd's own defaults: 100 ms, 1000 ms).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./wait.js";

export const ETCD_BIN = process.env.BERTH_TEST_ETCD ?? "/usr/bin/etcd";
export const CLIENT_PORT = 12379;
export const PEER_PORT = 12380;

/** The files a TLS cluster was made with (in its temp dir, removed by stop()). */
export interface EtcdTls {
  /** CA that signed the member certificates and the client certificates etcd accepts. */
  caFile: string;
  /** A client certificate and key signed by caFile (clientAuth). */
  certFile: string;
  keyFile: string;
  /** Another CA, which signed nothing etcd trusts: for "wrong CA" tests. */
  otherCaFile: string;
  /** A client certificate and key from otherCaFile. */
  otherCertFile: string;
  otherKeyFile: string;
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
  /** Serve clients over TLS with client-certificate auth, on a test CA made here. */
  tls?: boolean;
  /**
   * Where the members run, when not on loopback addresses of this namespace: member i
   * (0-based) on a node of a topology (harness/group.ts puts each in its controller's
   * network namespace, so a partition cuts a controller and its etcd member together).
   * Not with tls.
   */
  placement?: EtcdPlacement;
}

/** Members on nodes of their own (a topology's network namespaces). */
export interface EtcdPlacement {
  /** Member i's address on its node. */
  address(i: number): string;
  /** Starts argv on member i's node (its own process group, output piped). */
  spawn(i: number, argv: string[]): ChildProcess;
  /** The body of an HTTP GET of url, made on member i's node (curl there). */
  get(i: number, url: string): Promise<string>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client endpoints, "host:port". */
  endpoints: string[];
  /** "etcd://h:p,h:p,…", what `berth controller --store` takes. */
  url: string;
  /** With `tls: true`: the CA and client files. */
  tls: EtcdTls | undefined;
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
  const placement = opts.placement;
  if (placement && opts.tls) throw new Error("startEtcdCluster: placement does not do tls");
  // A random /16 of 127/8 per cluster: no two clusters share an address.
  const base = `127.${randomInt(1, 250)}.${randomInt(1, 250)}`;
  const dir = await mkdtemp(join(tmpdir(), "berth-etcd-"));
  const scheme = opts.tls ? "https" : "http";
  const members: EtcdMember[] = Array.from({ length: n }, (_, i) => {
    const address = placement ? placement.address(i) : `${base}.${i + 1}`;
    return { name: `m${i + 1}`, address, endpoint: `${address}:${CLIENT_PORT}`, proc: undefined, output: [] };
  });
  let tls: EtcdTls | undefined;
  let serverCert: { certFile: string; keyFile: string } | undefined;
  if (opts.tls) {
    try {
      ({ tls, serverCert } = makeTestPki(join(dir, "pki"), members.map((m) => m.address)));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
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
      // etcd 3.5's default, and what a production 3.4 should run with: a member back from
      // a partition, its term raised by its lonely elections, rejoins without forcing an
      // election on the others (which would stall every write for one).
      "--pre-vote=true",
      "--logger=zap",
      "--log-level=warn",
    ];
    if (tls && serverCert) {
      args.push(`--trusted-ca-file=${tls.caFile}`, `--cert-file=${serverCert.certFile}`, `--key-file=${serverCert.keyFile}`, "--client-cert-auth");
    }
    const proc = placement ? placement.spawn(members.indexOf(m), [ETCD_BIN, ...args]) : spawn(ETCD_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
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

  // On a member's own node when placed; else from here.
  const get = (m: EtcdMember, path: string): Promise<string> => (placement ? placement.get(members.indexOf(m), `http://${m.endpoint}${path}`) : httpGet(m, path, tls));
  let stopped = false;
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.endpoint),
    url: `etcd://${members.map((m) => m.endpoint).join(",")}`,
    tls,
    async leader() {
      return waitFor(
        async () => {
          for (const m of members) {
            if (!running(m)) continue;
            const status = await memberStatus(m, get).catch(() => undefined);
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
      await waitHealthy([m], tls, get);
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
    await waitHealthy(members, tls, get);
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
async function waitHealthy(members: EtcdMember[], tls: EtcdTls | undefined, get: (m: EtcdMember, path: string) => Promise<string>): Promise<void> {
  await Promise.all(
    members.map((m) =>
      waitFor(
        async () => {
          if (!running(m)) throw new Error(`etcd ${m.name} exited: ${m.output.slice(-5).join(" | ")}`);
          const body = await get(m, "/health");
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
async function memberStatus(m: EtcdMember, get: (m: EtcdMember, path: string) => Promise<string>): Promise<MemberStatus> {
  const body = await get(m, "/metrics");
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
    const req = mod.get(`${tls ? "https" : "http"}://${m.endpoint}${path}`, { ...agentOpts, ...(tls ? { servername: "" } : {}), timeout: 2_000 }, (res) => {
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

/**
 * A test PKI made with openssl (ECDSA P-256): a CA, one member certificate for every
 * address (serverAuth and clientAuth, as etcd also dials itself with it), a client
 * certificate, and a second CA with its own client certificate.
 */
function makeTestPki(dir: string, addresses: string[]): { tls: EtcdTls; serverCert: { certFile: string; keyFile: string } } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  };
  const key = (name: string): void => openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f(name));
  const ca = (name: string): void => {
    key(`${name}.key`);
    openssl("req", "-x509", "-new", "-key", f(`${name}.key`), "-subj", `/CN=${name}`, "-days", "2", "-out", f(`${name}.crt`));
  };
  const leaf = (name: string, caName: string, ext: string): void => {
    key(`${name}.key`);
    openssl("req", "-new", "-key", f(`${name}.key`), "-subj", `/CN=${name}`, "-out", f(`${name}.csr`));
    writeFileSync(f(`${name}.ext`), ext);
    openssl(
      "x509", "-req", "-in", f(`${name}.csr`), "-CA", f(`${caName}.crt`), "-CAkey", f(`${caName}.key`),
      "-set_serial", String(randomInt(1, 2 ** 31)), "-days", "2", "-out", f(`${name}.crt`), "-extfile", f(`${name}.ext`),
    );
  };
  ca("ca");
  ca("other-ca");
  const sans = [...addresses.map((a) => `IP:${a}`), "DNS:localhost"].join(",");
  leaf("member", "ca", `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n`);
  leaf("client", "ca", "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n");
  leaf("other-client", "other-ca", "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n");
  return {
    tls: {
      caFile: f("ca.crt"),
      certFile: f("client.crt"),
      keyFile: f("client.key"),
      otherCaFile: f("other-ca.crt"),
      otherCertFile: f("other-client.crt"),
      otherKeyFile: f("other-client.key"),
    },
    serverCert: { certFile: f("member.crt"), keyFile: f("member.key") },
  };
}
