/**
 * `berth controller --front haproxy`: Debian's HAProxy ends the agents' and operators'
 * mutual TLS and HTTP/2 on the controller's port, and carries their calls to this
 * process over a few cleartext HTTP/2 connections on a Unix socket in the data dir
 * (0700: only this user, HAProxy its child, can open it). An agent's stream then costs
 * this process an HTTP/2 stream, not a TLS connection and an HTTP/2 session each:
 * bench:conn-memory's `grpc-haproxy` layer, docs/performance.md (session 43).
 *
 * HAProxy verifies nothing itself: it passes the client's certificate (DER, base64) and
 * address in two headers, deleting any a client sent by those names, and the controller
 * checks the certificate as it checks one from its own TLS port (frontInterceptor below
 * hands it to the handlers as the call's auth context: rotation, revocation and renewal
 * rules unchanged). On a CA step HAProxy reloads (master-worker, SIGUSR2) with the new
 * certificate; its old worker keeps the streams it holds until `hard-stop-after`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { formatHostPort, type HostPort } from "../../shared/addr.js";
import type { Logger } from "../../shared/log/logger.js";
import { setTimeoutClamped } from "../../shared/timer.js";
import { serverChainPem } from "../../shared/tls/pki.js";
import { loadProtos } from "../../shared/proto.js";

export const FRONT_KINDS = ["haproxy"] as const;
export type FrontKind = (typeof FRONT_KINDS)[number];

/** Headers HAProxy sets (and deletes from what clients send): the peer's certificate, DER in base64, and its address. */
// Not relay.ts's x-berth-peer (the operator's address a member relays for), which must pass through.
export const PEER_CERT_HEADER = "x-berth-front-cert";
export const PEER_ADDR_HEADER = "x-berth-front-peer";

/** How long HAProxy's old worker keeps the streams it holds after a reload (a CA step); their agents then reconnect. */
const HARD_STOP_AFTER = "60s";

export interface FrontTls {
  /** Trusted CAs (the bundle): what HAProxy asks clients' certificates of. */
  caPem: string;
  certPem: string;
  keyPem: string;
  issuerPem: string;
}

export interface FrontOptions {
  dataDir: string;
  listen: HostPort;
  tls: FrontTls;
  /** A connection whose TLS handshake and first request are not in this long after it opened is dropped. */
  handshakeTimeoutMs: number;
  log: Logger;
  /** The binary. @default "haproxy" on PATH */
  bin?: string;
}

/** The front could not start: HAProxy missing, its port taken, its configuration refused. */
export class FrontError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrontError";
  }
}

/** The calls that share HAProxy's connections to the controller: the agents' long-lived streams, and their joins. */
function agentStreamPaths(): string[] {
  const agent = loadProtos().agent.berth.v1.AgentService.service;
  return [agent.Connect.path, agent.Join.path];
}

const listenSpec = (a: HostPort): string => (a.host.includes(":") ? `ipv6@${a.host}:${a.port}` : `${a.host}:${a.port}`);

function config(o: { listen: HostPort; dir: string; socket: string; handshakeTimeoutMs: number }): string {
  return [
    "# Written by berth controller --front haproxy at each start and CA step; edits are lost.",
    "global",
    `  pidfile ${join(o.dir, "haproxy.pid")}`,
    `  hard-stop-after ${HARD_STOP_AFTER}`,
    // No maxconn: HAProxy derives it from the file descriptors it may open (ulimit -n).
    "defaults",
    "  mode http",
    "  timeout connect 5s",
    // The handshake and a connection's first request (a peer that connects and says nothing).
    `  timeout http-request ${Math.max(1, Math.ceil(o.handshakeTimeoutMs / 1000))}s`,
    // An agent's stream, a quiet `events -f` or `logs -f`: long-lived calls, ended by their peers.
    "  timeout client 1d",
    "  timeout server 1d",
    "  timeout client-fin 10s",
    // Peers that vanish without a word (a host powered off, a cut link): TCP keepalive ends their
    // connections in ~1 min; the controller's own keepalive pings stop at HAProxy.
    "  option clitcpka",
    "  clitcpka-idle 30s",
    "  clitcpka-intvl 10s",
    "  clitcpka-cnt 3",
    "frontend berth",
    `  bind ${listenSpec(o.listen)} ssl crt ${join(o.dir, "server.pem")} ca-file ${join(o.dir, "ca.pem")} verify optional ca-ignore-err all crt-ignore-err all alpn h2`,
    // A call's connection of its own (backend calls) is closed when the call ends, not kept for the client's next.
    "  max-session-srv-conns 0",
    `  http-request del-header ${PEER_CERT_HEADER}`,
    `  http-request del-header ${PEER_ADDR_HEADER}`,
    `  http-request set-header ${PEER_CERT_HEADER} %[ssl_c_der,base64] if { ssl_c_used }`,
    `  http-request set-header ${PEER_ADDR_HEADER} %[src]:%[src_port]`,
    // Agents' streams share connections to the controller (~100 streams each: the memory saved).
    // They carry little, and a stream whose agent reads nothing is held back (agent-stream/read-window.ts)
    // before HAProxy 2.6 would have to hold its data: one stream HAProxy cannot deliver blocks every
    // other on its connection to the controller. Every other call (an operator's `logs -f` or `exec`, an
    // artifact's download, a member's relay) gets a connection of its own, closed when the call ends.
    `  use_backend agents if { path ${agentStreamPaths().join(" ")} }`,
    "  default_backend calls",
    "backend agents",
    "  http-reuse always",
    `  server controller unix@${o.socket} proto h2`,
    "backend calls",
    "  http-reuse never",
    `  server controller unix@${o.socket} proto h2 max-reuse 0`,
    "",
  ].join("\n");
}

/**
 * The HAProxy of this configuration still running from an earlier start, from its pidfile:
 * `pid`, and `owner` when the controller that started it is still alive (its parent, a berth
 * controller that is not this process) — then the data dir is in use, and nothing is stopped.
 */
function earlierFront(dir: string): { pid: number; owner?: number } | undefined {
  try {
    const pid = Number(readFileSync(join(dir, "haproxy.pid"), "utf8").trim().split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(join(dir, "haproxy.cfg"))) return undefined;
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    const parent = ppid > 1 && ppid !== process.pid ? readFileSync(`/proc/${ppid}/cmdline`, "utf8").split("\0") : [];
    return parent.includes("controller") ? { pid, owner: ppid } : { pid };
  } catch {
    return undefined;
  }
}

export class HaproxyFront {
  /** The Unix socket this process serves gRPC on, for HAProxy alone. */
  readonly socket: string;
  private readonly dir: string;
  private proc: ChildProcess | undefined;
  private stopping = false;
  private stderr = "";

  private constructor(
    private readonly o: FrontOptions,
    readonly listen: HostPort,
  ) {
    this.dir = join(o.dataDir, "front");
    this.socket = join(this.dir, "controller.sock");
  }

  /** Writes the configuration; the controller binds `socket` next, then start(). Port 0 takes a free port now. */
  static async prepare(o: FrontOptions): Promise<HaproxyFront> {
    const dir = join(o.dataDir, "front");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const earlier = earlierFront(dir);
    if (earlier?.owner !== undefined) throw new FrontError(`--data-dir ${o.dataDir} is in use: controller pid ${earlier.owner} runs HAProxy ${earlier.pid} on it`);
    if (earlier !== undefined) {
      o.log.warn({ pid: earlier.pid }, "stopping the HAProxy a previous controller on this data dir left running");
      try {
        process.kill(earlier.pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
      await gone(earlier.pid);
    }
    // Taken by anyone else (a controller without --front, another program), HAProxy would fail to
    // bind after our readiness probe had already reached that other listener: bound here first
    // (port 0: the port the kernel gives, which HAProxy then takes).
    const listen = { host: o.listen.host, port: await bindablePort(o.listen) };
    const f = new HaproxyFront(o, listen);
    // sockaddr_un holds 108 bytes with its terminating NUL.
    if (Buffer.byteLength(f.socket) > 107) throw new FrontError(`--front haproxy: the socket path ${f.socket} is longer than a Unix socket's 107 bytes: give a shorter --data-dir`);
    rmSync(f.socket, { force: true });
    await f.write(o.tls);
    return f;
  }

  /** Writes HAProxy's files; whether any changed. */
  private async write(t: FrontTls): Promise<boolean> {
    const files: [string, string][] = [
      ["server.pem", `${serverChainPem(t.certPem, t.issuerPem)}\n${t.keyPem}\n`],
      ["ca.pem", `${t.caPem}\n`],
      ["haproxy.cfg", config({ listen: this.listen, dir: this.dir, socket: this.socket, handshakeTimeoutMs: this.o.handshakeTimeoutMs })],
    ];
    let changed = false;
    for (const [name, text] of files) {
      const path = join(this.dir, name);
      if (readIfAny(path) === text) continue;
      await writeFile(path, text, { mode: 0o600 });
      changed = true;
    }
    return changed;
  }

  /** Starts HAProxy; resolves once it accepts connections on the port, rejects with FrontError if it exits first. */
  async start(): Promise<void> {
    const bin = this.o.bin ?? "haproxy";
    const proc = spawn(bin, ["-W", "-db", "-f", join(this.dir, "haproxy.cfg")], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (s: string) => {
      this.stderr = (this.stderr + s).slice(-4000);
      for (const line of s.split("\n").filter((l) => l.trim() !== "")) this.o.log.info({ component: "front" }, line.slice(0, 500));
    });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        reject(new FrontError(why));
      };
      proc.once("error", (e: NodeJS.ErrnoException) => fail(e.code === "ENOENT" ? `--front haproxy: ${bin} not found (apt-get install haproxy)` : `--front haproxy: ${e.message}`));
      proc.once("exit", (code, signal) => {
        const said = this.stderr.split("\n").filter((l) => /ALERT|error/i.test(l)).slice(-3).join("; ");
        const inUse = /cannot bind socket|Address already in use/i.test(this.stderr);
        fail(inUse ? `${formatHostPort(this.listen)} is already in use (another controller, or \`berth dev\`, running?)` : `--front haproxy: HAProxy exited (${signal ?? code}) at start${said ? `: ${said}` : ""}`);
      });
      const deadline = Date.now() + 15_000;
      const poll = (): void => {
        if (settled) return;
        const s = net.connect({ host: this.listen.host, port: this.listen.port }, () => {
          s.destroy();
          if (settled) return;
          settled = true;
          resolve();
        });
        s.on("error", () => (Date.now() > deadline ? fail("--front haproxy: HAProxy did not listen within 15 s") : setTimeout(poll, 50).unref()));
      };
      poll();
    }).catch((e: unknown) => {
      this.kill();
      throw e;
    });
    proc.on("exit", (code, signal) => {
      if (this.stopping || this.proc !== proc) return;
      // The port is gone with it: no agent or operator reaches this member until it is back.
      this.o.log.error({ code, signal, stderr: this.stderr.slice(-1000) }, "HAProxy (--front) exited: starting it again");
      this.restart(1000);
    });
  }

  /** Starts HAProxy again after delayMs, and keeps trying (doubling up to 30 s) until it runs or the front is stopped. */
  private restart(delayMs: number): void {
    setTimeoutClamped(() => {
      if (this.stopping) return;
      this.start().catch((err: unknown) => {
        const next = Math.min(30_000, delayMs * 2);
        this.o.log.error({ err, retryInMs: next }, "HAProxy (--front) could not be started again");
        this.restart(next);
      });
    }, delayMs).unref();
  }

  /** New certificate or trusted CAs (a CA step): rewritten, and HAProxy reloads; streams already open stay on the old worker until hard-stop-after. */
  async update(t: FrontTls): Promise<void> {
    // Every CA record write calls this; a reload sends every stream to the old worker's end
    // (hard-stop-after), so only a certificate or trust that changed is worth one.
    if (await this.write(t)) this.proc?.kill("SIGUSR2");
  }

  private kill(): void {
    this.proc?.kill("SIGKILL");
  }

  /** Stops HAProxy (its master takes its workers with it) and waits for it to be gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => p.kill("SIGKILL"), 5000);
      p.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      p.kill("SIGTERM");
    });
  }
}

function readIfAny(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Waits (up to 5 s) for a process to be gone. */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Binds `a` for a moment: the port bound (the kernel's choice for 0), or FrontError naming why not. */
function bindablePort(a: HostPort): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", (e: NodeJS.ErrnoException) =>
      reject(new FrontError(e.code === "EADDRINUSE" ? `${formatHostPort(a)} is already in use (another controller, or \`berth dev\`, running?)` : `cannot listen on ${formatHostPort(a)}: ${e.message}`)),
    );
    probe.listen(a.port, a.host, () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Installed only on a member behind the front, whose sole listener is the front's socket:
 * the peer's certificate and address HAProxy passed become the call's auth context and
 * peer, as grpc-js gives them on a TLS port (`sslPeerCertificate.raw`, "host:port"), so
 * every check of a caller's certificate reads it as before. The headers leave the
 * metadata: nothing downstream (a relay to another member) passes them on.
 */
export function frontInterceptor(): grpc.ServerInterceptor {
  return (_method, call) => {
    let der: Buffer | undefined;
    let peer: string | undefined;
    const ic = new FrontCall(call, () => der, () => peer, {
      start: (next) =>
        next({
          onReceiveMetadata: (md, nextMd) => {
            const cert = md.get(PEER_CERT_HEADER)[0];
            const addr = md.get(PEER_ADDR_HEADER)[0];
            md.remove(PEER_CERT_HEADER);
            md.remove(PEER_ADDR_HEADER);
            if (typeof cert === "string" && cert.length > 0 && cert.length <= 64 * 1024) {
              const b = Buffer.from(cert, "base64");
              // Kept for the call's life (an agent's stream: days): a copy of its own, as a slice of
              // Node's shared 8 KiB pool would keep the whole slab alive — 6 KB an agent, measured.
              if (b.length > 0) der = Buffer.from(new Uint8Array(b).buffer);
            }
            if (typeof addr === "string" && addr.length <= 100) peer = addr;
            nextMd(md);
          },
        }),
    });
    return ic;
  };
}

class FrontCall extends grpc.ServerInterceptingCall {
  constructor(
    next: grpc.ServerInterceptingCallInterface,
    private readonly der: () => Buffer | undefined,
    private readonly peer: () => string | undefined,
    responder: grpc.Responder,
  ) {
    super(next, responder);
  }

  override getAuthContext(): ReturnType<grpc.ServerInterceptingCall["getAuthContext"]> {
    const raw = this.der();
    // The shape grpc-js gives for a TLS peer (peerCertificate in shared/tls/pki.ts reads `raw`).
    return raw ? ({ transportSecurityType: "ssl", sslPeerCertificate: { raw } } as unknown as ReturnType<grpc.ServerInterceptingCall["getAuthContext"]>) : { transportSecurityType: "ssl" };
  }

  override getPeer(): string {
    return this.peer() ?? "unknown";
  }
}
