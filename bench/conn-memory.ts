/**
 * What one agent's connection costs a Node process before berth adds anything:
 * the floor under bench:agents' memory per agent (README, "Joins and memory").
 *
 *   npm run build && npm run bench:conn-memory -- [--conns 500] [--layers tls,h2,h2-stream,grpc,grpc-haproxy]
 *
 * For each layer, a server in this process and --conns clients in a child process
 * (each its own TLS connection with mutual TLS: P-256 certificates from berth's own
 * PKI, one client certificate for all): `tls` — a TLS connection echoing 60 bytes a
 * second; `h2` — an HTTP/2 session over it; `h2-stream` — plus one open stream
 * echoing 60 bytes a second; `grpc` — a grpc-js server with the controller's server
 * options (member/grpc-server.ts) and credentials (ReloadableServerCredentials), one
 * bidi stream per connection echoing a 60-byte message a second, as a heartbeat;
 * `grpc-haproxy` — the same grpc-js server on cleartext HTTP/2 behind Debian's HAProxy,
 * which ends each client's mutual TLS and HTTP/2 and carries the streams over shared
 * connections: the server's memory and HAProxy's, each per connection.
 * Each layer's server runs in a fresh process. After every client is connected and 5 s
 * more, a full GC (node --expose-gc, added by the script itself), then the server's RSS from /proc/self/smaps, per connection, by
 * where it lies: glibc's main heap (`[heap]`: OpenSSL, nghttp2, Node's C++), other
 * anonymous memory (V8's heap pages, thread arenas) and V8's heap in use.
 */
import { fork, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import http2 from "node:http2";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { newGrpcServer } from "../controller/member/grpc-server.js";
import { CONTROLLER_TLS_NAME, createCa, createKeyAndCsr, createServerCert, grpcClientCredentials, grpcServerCredentials, signHostCsr } from "../shared/tls/pki.js";
import { controllerEnv, MALLOC_CHOICES } from "../shared/malloc.js";
import { freePort } from "./controller-proc.js";

const LAYERS = ["tls", "h2", "h2-stream", "grpc", "grpc-haproxy"] as const;
type Layer = (typeof LAYERS)[number];

interface Pki {
  caPem: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const id = (b: Buffer): Buffer => b;
const METHOD = { Chat: { path: "/bench.Conn/Chat", requestStream: true, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } };

interface Mem {
  rssMb: number;
  heapMb: number;
  otherAnonMb: number;
  v8UsedMb: number;
}

function mem(pid: number | "self" = "self"): Mem {
  const out = { rssMb: 0, heapMb: 0, otherAnonMb: 0, v8UsedMb: pid === "self" ? process.memoryUsage().heapUsed / 2 ** 20 : 0 };
  let kind: "heap" | "anon" | "file" = "anon";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (m) kind = m[2] === "[heap]" ? "heap" : m[1] !== "0" ? "file" : "anon";
    else if (line.startsWith("Rss:")) {
      const mb = Number(/(\d+)/.exec(line)?.[1] ?? 0) / 1024;
      out.rssMb += mb;
      if (kind === "heap") out.heapMb += mb;
      else if (kind === "anon") out.otherAnonMb += mb;
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

// --- the clients (child process) -------------------------------------------------

async function clients(layer: Layer, port: number, n: number, pki: Pki): Promise<void> {
  const keep: unknown[] = [];
  const tlsOpts = { ca: pki.caPem, cert: pki.clientCert, key: pki.clientKey, servername: CONTROLLER_TLS_NAME };
  const one = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (layer === "tls") {
        const s = tls.connect({ ...tlsOpts, host: "127.0.0.1", port }, () => {
          keep.push(s, setInterval(() => s.write(Buffer.alloc(60)), 1000));
          resolve();
        });
        s.on("error", reject);
        s.on("data", () => undefined);
      } else if (layer === "h2" || layer === "h2-stream") {
        const c = http2.connect(`https://127.0.0.1:${port}`, tlsOpts);
        c.on("error", reject);
        c.on("connect", () => {
          keep.push(c);
          if (layer === "h2") return resolve();
          const st = c.request({ ":method": "POST", ":path": "/x", "content-type": "application/grpc" }, { endStream: false });
          st.on("response", () => resolve());
          st.on("data", () => undefined);
          keep.push(setInterval(() => st.write(Buffer.alloc(60)), 1000));
        });
      } else {
        const Client = grpc.makeGenericClientConstructor(METHOD, "Conn");
        // Its own subchannel pool: one connection per client, as one per agent.
        const c = new Client(`127.0.0.1:${port}`, grpcClientCredentials(pki.caPem, { certPem: pki.clientCert, keyPem: pki.clientKey }), { "grpc.ssl_target_name_override": CONTROLLER_TLS_NAME, "grpc.use_local_subchannel_pool": 1 });
        const st = (c as unknown as { Chat(): grpc.ClientDuplexStream<Buffer, Buffer> }).Chat();
        st.on("error", reject);
        st.once("data", () => resolve());
        st.on("data", () => undefined);
        st.write(Buffer.alloc(60));
        keep.push(c, setInterval(() => st.write(Buffer.alloc(60)), 1000));
      }
    });
  for (let i = 0; i < n; i += 20) await Promise.all(Array.from({ length: Math.min(20, n - i) }, one));
  process.send?.("connected");
  await new Promise(() => undefined);
}

// --- the server (this process) -------------------------------------------------------

interface Served {
  port: number;
  close: () => void;
  /** grpc-haproxy: the proxy's pid, whose memory counts too, and the port it carries the streams to. */
  proxyPid?: number;
  backendPort?: number;
}

/** Established TCP connections to 127.0.0.1:port (/proc/net/tcp: addresses little-endian hex). */
function connectionsTo(port: number): number {
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .filter((l) => {
      const f = l.trim().split(/\s+/);
      return f[2] === remote && f[3] === "01";
    }).length;
}

/**
 * HAProxy (Debian's) in front of a grpc-js server: it ends each client's mutual TLS and
 * HTTP/2 session and carries their streams to the server over shared cleartext HTTP/2
 * connections (`http-reuse always`), passing the client certificate's CN as a header,
 * as a controller behind it would need to know the host. What an agent would cost with
 * TLS and HTTP/2 terminated outside the controller process (docs/performance.md).
 */
async function haproxyInFront(backendPort: number, n: number, pki: Pki): Promise<{ port: number; pid: number; close: () => void }> {
  const dir = await mkdtemp(join(tmpdir(), "berth-conn-haproxy-"));
  const port = await freePort();
  await writeFile(join(dir, "server.pem"), `${pki.serverCert}\n${pki.caPem}\n${pki.serverKey}`, { mode: 0o600 });
  await writeFile(join(dir, "ca.pem"), pki.caPem);
  await writeFile(
    join(dir, "haproxy.cfg"),
    [
      "global",
      `  maxconn ${2 * n + 100}`,
      "defaults",
      "  mode http",
      "  timeout connect 5s",
      "  timeout client 1h",
      "  timeout server 1h",
      "frontend agents",
      `  bind 127.0.0.1:${port} ssl crt ${join(dir, "server.pem")} ca-file ${join(dir, "ca.pem")} verify required alpn h2`,
      "  http-request set-header x-berth-client-cn %[ssl_c_s_dn(CN)]",
      "  default_backend controller",
      "backend controller",
      // BENCH_HAPROXY_REUSE=never: a connection to the server per client connection (no stream of one client behind another's).
      `  http-reuse ${process.env.BENCH_HAPROXY_REUSE === "never" ? "never" : "always"}`,
      `  server c1 127.0.0.1:${backendPort} proto h2`,
      "",
    ].join("\n"),
  );
  // Its own allocator (glibc and HAProxy's pools), not the server's preload or profile.
  const { LD_PRELOAD: _p, MALLOC_CONF: _m, ...env } = process.env;
  const proc = spawn("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], { stdio: ["ignore", "ignore", "inherit"], env });
  const close = (): void => {
    proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  // However this server ends (an error, --heap-profile's exit before close), HAProxy and its files go with it.
  process.once("exit", close);
  try {
    await new Promise<void>((ready, fail) => {
      proc.once("error", (e) => fail(new Error(`haproxy: ${e.message} (apt-get install haproxy)`)));
      proc.once("exit", (code) => fail(new Error(`haproxy exited (${code}) at start`)));
      const deadline = Date.now() + 10_000;
      const poll = (): void => {
        const s = tls.connect({ host: "127.0.0.1", port, ca: pki.caPem, servername: CONTROLLER_TLS_NAME, cert: pki.clientCert, key: pki.clientKey }, () => {
          s.destroy();
          ready();
        });
        s.on("error", () => (Date.now() > deadline ? fail(new Error("haproxy did not listen within 10 s")) : setTimeout(poll, 50)));
      };
      poll();
    });
  } catch (e) {
    close();
    throw e;
  }
  return { port, pid: proc.pid as number, close };
}

async function serve(layer: Layer, pki: Pki, n: number): Promise<Served> {
  const opts = { ca: pki.caPem, cert: `${pki.serverCert}\n${pki.caPem}`, key: pki.serverKey, requestCert: true, rejectUnauthorized: false };
  const listen = (srv: tls.Server | http2.Http2SecureServer): Promise<number> =>
    new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve((srv.address() as { port: number }).port)));
  if (layer === "tls") {
    const srv = tls.createServer(opts, (s) => {
      s.on("data", (d) => s.write(d));
      s.on("error", () => undefined);
    });
    return { port: await listen(srv), close: () => srv.close() };
  }
  if (layer === "h2" || layer === "h2-stream") {
    const srv = http2.createSecureServer(opts);
    srv.on("session", (s) => s.on("error", () => undefined));
    srv.on("stream", (st) => {
      st.respond({ ":status": 200 });
      st.on("data", (d: Buffer) => st.write(d));
      st.on("error", () => undefined);
    });
    return { port: await listen(srv), close: () => srv.close() };
  }
  const srv = newGrpcServer({}, []);
  srv.addService(METHOD, {
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (d: Buffer) => call.write(d));
      call.on("error", () => undefined);
    },
  });
  const creds = layer === "grpc" ? grpcServerCredentials(pki.caPem, pki.serverCert, pki.serverKey) : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => srv.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))));
  if (layer === "grpc") return { port, close: () => srv.forceShutdown() };
  const proxy = await haproxyInFront(port, n, pki);
  return {
    port: proxy.port,
    proxyPid: proxy.pid,
    backendPort: port,
    close: () => {
      proxy.close();
      srv.forceShutdown();
    },
  };
}

async function measure(layer: Layer, n: number, pki: Pki): Promise<string> {
  const { port, close, proxyPid, backendPort } = await serve(layer, pki, n);
  // Twice, with a pause: V8 gives back the pages of start-up's garbage only after a while.
  gc();
  await sleep(2000);
  gc();
  await sleep(1000);
  const before = mem();
  const proxyBefore = proxyPid === undefined ? undefined : mem(proxyPid);
  let line = "";
  // The clients are not profiled (--heap-profile): only the server's heap is asked about.
  const { MALLOC_CONF: _, ...clientEnv } = process.env;
  const child = fork(fileURLToPath(import.meta.url), ["--client", layer, String(port), String(n)], { stdio: ["ignore", "inherit", "inherit", "ipc"], env: clientEnv });
  child.send(pki);
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`the clients exited (${code}) before all were connected`)));
    });
    await sleep(5000);
    gc();
    await sleep(1000);
    const after = mem();
    const per = (k: keyof Mem, a = after, b = before): string => ((1024 * (a[k] - b[k])) / n).toFixed(1).padStart(6);
    line = `${layer.padEnd(12)} ${per("rssMb")} KB   [heap] ${per("heapMb")}   other anon ${per("otherAnonMb")}   V8 used ${per("v8UsedMb")}   (RSS ${before.rssMb.toFixed(0)} → ${after.rssMb.toFixed(0)} MB)`;
    if (proxyPid !== undefined && proxyBefore !== undefined) {
      const proxyAfter = mem(proxyPid);
      const both = ((1024 * (after.rssMb - before.rssMb + proxyAfter.rssMb - proxyBefore.rssMb)) / n).toFixed(1);
      line += `\n${"".padEnd(12)} + haproxy ${per("rssMb", proxyAfter, proxyBefore)} KB (RSS ${proxyBefore.rssMb.toFixed(0)} → ${proxyAfter.rssMb.toFixed(0)} MB): ${both} KB a connection in all; connections haproxy → server: ${connectionsTo(backendPort ?? 0)}`;
    }
    return line;
  } finally {
    child.kill("SIGKILL");
    // --heap-profile: exit before a close frees the connections, so jemalloc's profile at exit (prof_final) holds them
    // (only once measured: a failure goes on to its error and exit code).
    if (process.env.BENCH_HEAP_PROFILE && line !== "") {
      process.stdout.write(`${line}\n`);
      process.exit(0);
    }
    close();
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === "--client") {
    const [layer, port, n] = process.argv.slice(3) as [Layer, string, string];
    const pki = await new Promise<Pki>((resolve) => process.once("message", (m) => resolve(m as Pki)));
    await clients(layer, Number(port), Number(n), pki);
    return;
  }
  if (process.argv[2] === "--server") {
    const [layer, n] = process.argv.slice(3) as [Layer, string];
    const pki = await new Promise<Pki>((resolve) => process.once("message", (m) => resolve(m as Pki)));
    process.stdout.write(`${await measure(layer, Number(n), pki)}\n`);
    process.disconnect?.();
    return;
  }
  const { values } = parseArgs({ options: { conns: { type: "string", default: "500" }, layers: { type: "string", default: LAYERS.filter((l) => l !== "grpc-haproxy").join(",") }, malloc: { type: "string", default: "auto" }, "heap-profile": { type: "string" }, help: { type: "boolean" } } });
  if (values.help) {
    process.stdout.write("usage: npm run bench:conn-memory -- [--conns 500] [--layers tls,h2,h2-stream,grpc,grpc-haproxy] [--malloc auto|jemalloc|glibc] [--heap-profile DIR]\n");
    process.stdout.write("  --malloc: the servers' allocator, as BERTH_MALLOC for a controller (default auto: jemalloc where installed)\n");
    process.stdout.write("  --heap-profile DIR: jemalloc's heap profile of each server with every connection open, in DIR, and the jeprof command that reads it\n");
    return;
  }
  // The servers run on the allocator a controller gets (shared/malloc.ts), or the one asked for.
  if (!(MALLOC_CHOICES as readonly string[]).includes(values.malloc)) throw new Error(`--malloc ${values.malloc}: expected ${MALLOC_CHOICES.join(", ")}`);
  const profileDir = values["heap-profile"];
  if (profileDir !== undefined && values.malloc === "glibc") throw new Error("--heap-profile is jemalloc's: not with --malloc glibc");
  const serverEnv = controllerEnv({ ...process.env, BERTH_MALLOC: profileDir !== undefined ? "jemalloc" : values.malloc });
  if (profileDir !== undefined) {
    await mkdir(profileDir, { recursive: true });
    // Sampled every 4 KiB allocated on average; written at the server's exit, with every connection open.
    serverEnv.MALLOC_CONF = `prof:true,prof_final:true,lg_prof_sample:12,prof_prefix:${resolve(profileDir, "conn")}`;
    serverEnv.BENCH_HEAP_PROFILE = "1";
  }
  const n = Number(values.conns);
  const layers = values.layers.split(",") as Layer[];
  if (!(Number.isInteger(n) && n > 0) || layers.some((l) => !LAYERS.includes(l))) throw new Error(`--conns a positive integer, --layers of ${LAYERS.join(",")}`);
  const ca = await createCa();
  const server = await createServerCert(ca, { dnsNames: [CONTROLLER_TLS_NAME], ips: [] });
  const { keyPem, csrPem } = await createKeyAndCsr("bench");
  const clientCert = await signHostCsr(ca, csrPem, "0123456789ab");
  const pki: Pki = { caPem: ca.certPem, serverCert: server.certPem, serverKey: server.keyPem, clientCert: `${clientCert}\n${ca.certPem}`, clientKey: keyPem };
  const malloc = serverEnv.LD_PRELOAD?.includes("libjemalloc") ? "jemalloc" : "glibc";
  process.stdout.write(`server memory per connection, ${n} connections with mutual TLS (node ${process.version}, OpenSSL ${process.versions.openssl}, malloc: ${malloc})\n`);
  // Each layer's server in a process of its own (what one layer freed would be reused by
  // the next), with --expose-gc: a full GC before each reading, so V8's heap holds what
  // is live, not what waits for collection.
  for (const layer of layers) {
    const c = fork(fileURLToPath(import.meta.url), ["--server", layer, String(n)], { execArgv: [...process.execArgv, "--expose-gc"], env: serverEnv });
    c.send(pki);
    const code = await new Promise<number>((done) => c.on("exit", (x) => done(x ?? 1)));
    if (code !== 0) throw new Error(`the ${layer} server exited with ${code}`);
    if (profileDir !== undefined) {
      const file = resolve(profileDir, `conn.${c.pid}.0.f.heap`);
      process.stdout.write(existsSync(file) ? `  heap profile: jeprof --text --cum --inuse_space ${process.execPath} ${file}   (jeprof: apt-get install libjemalloc-dev)\n` : `  no heap profile at ${file}: is this jemalloc built with profiling (config.prof)?\n`);
    }
  }
}

await main();
