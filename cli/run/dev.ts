/**
 * `berth dev --hosts N`: a whole local fleet in one command (what `npm start`
 * runs): a controller with its LevelDB store under ./.berth/ and N agents on
 * 127.0.0.2…, each its own process with its own data dir. Ctrl-C stops every
 * process it started. Run it again and the same fleet comes back: the store and
 * every agent's identity are kept in ./.berth/.
 *
 * `--controllers 3`: a controller group instead — a local etcd cluster of 3 members
 * (Debian's /usr/bin/etcd; BERTH_ETCD names another) on 127.0.0.1, 3 controllers on
 * it (ports PORT…PORT+2) sharing one secrets key, and agents and the CLI given every
 * member. Ctrl-C stops agents, then controllers, then etcd.
 *
 * Metrics: each agent has an address of its own (127.0.0.2 …), so all of them
 * serve /metrics on one port, the controller's metrics port + 1, each on its
 * own address — no port per agent to hand out or remember.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { request as httpsRequest } from "node:https";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { call, connect, type Api } from "../client.js";
import { configPath, readConfigFile, writeConfigFile, type ClientConfig } from "../config.js";
import { CliError, EXIT, shownInput } from "../errors.js";
import { isLogLevel, LOG_LEVELS } from "../../shared/log/logger.js";
import { parseCountFlag } from "../count-flag.js";
import { parseCertTtl } from "../duration-flag.js";
import { berthCommand } from "../self.js";
import { controllerEnv, MallocError } from "../../shared/malloc.js";
import { claimDevFleet, FleetRunningError } from "../dev-lock.js";
import { table } from "../output.js";
import { environmentFlag } from "../environment.js";
import { devPorts, portUses, portsTaken } from "../dev-ports.js";
import { stopProcessesIn } from "../dev-leftovers.js";

interface Child {
  name: string;
  proc: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

async function waitFor<T>(what: string, deadlineMs: number, fn: () => Promise<T | undefined>, failFast?: () => string | undefined): Promise<T> {
  const until = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    const why = failFast?.();
    if (why) throw new CliError(why, EXIT.failed);
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new CliError(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`, EXIT.failed);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** How long `berth dev` waits for its agents to be ready, and the controller's grace for them. */
const READY_WAIT_MS = 60_000;

/** Whether a child has ended, by an exit or a signal. */
const gone = (c: Child): boolean => c.proc.exitCode !== null || c.proc.signalCode !== null;

/** How a child ended: "exited (code 2)", "was killed (SIGKILL)". */
function howEnded(p: ChildProcess): string {
  return p.signalCode !== null ? `was killed (${p.signalCode})` : `exited (code ${p.exitCode})`;
}

/** The reason a child gave for exiting: the CLI's last "berth: …" line in its log. */
function lastError(log: string): string {
  try {
    const line = readFileSync(log, "utf8").split("\n").reverse().find((l) => l.startsWith("berth: "));
    return line ? `: ${line.slice("berth: ".length)}` : "";
  } catch {
    return "";
  }
}

/**
 * A one-time sign-in code for the console, bought with the admin token (POST
 * /api/signin-codes, the controller's CA pinned). The link `berth dev` prints carries
 * the code, never the token: a link left in scrollback or browser history is dead
 * once used, or after 30 minutes, while the admin token would open the fleet forever.
 */
function signInCode(uiPort: number, token: string, ca: string): Promise<string> {
  return new Promise((res, rej) => {
    const req = httpsRequest({ host: "127.0.0.1", port: uiPort, path: "/api/signin-codes", method: "POST", ca, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, timeout: 5000 }, (r) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { code?: string; error?: string };
        if (r.statusCode === 200 && body.code) res(body.code);
        else rej(new Error(body.error ?? `HTTP ${r.statusCode ?? "?"}`));
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 5 s")));
    req.on("error", rej);
    req.end("{}");
  });
}

const ETCD_INSTALL = "sudo apt-get install etcd-server";

/** The first folder above `dir` that others cannot traverse (no o+x), if any. */
async function untraversable(dir: string): Promise<string | undefined> {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = await stat(d).catch(() => undefined);
    if (st && (st.mode & 0o001) === 0) return d;
    if (d === dirname(d)) return undefined;
  }
}

export async function dev(o: { hosts: string; controllers: string; dataDir: string; port: string; metricsPort: string; uiPort?: string; etcdPort: string; logLevel: string; environment?: string; certTtl: string }): Promise<void> {
  // Checked here, before anything starts, with the controller's own bounds.
  parseCertTtl(o.certTtl);
  const environment = environmentFlag(o.environment);
  // Checked here, before anything starts: each child would refuse it only once the fleet was half up.
  if (!isLogLevel(o.logLevel)) throw new CliError(`--log-level ${shownInput(o.logLevel)}: expected ${LOG_LEVELS.join(", ")}`, EXIT.usage);
  const nc = Number(o.controllers);
  if (![1, 3, 5].includes(nc)) throw new CliError(`--controllers ${o.controllers}: expected 1, 3 or 5 (a group needs an odd number for etcd's quorum)`, EXIT.usage);
  const etcdBin = process.env.BERTH_ETCD ?? "/usr/bin/etcd";
  if (nc > 1 && !existsSync(etcdBin)) throw new CliError(`--controllers ${nc}: a controller group runs on etcd, and ${etcdBin} is missing`, EXIT.unavailable, `install it with: ${ETCD_INSTALL} (no service needs to run: berth dev starts its own members)`);
  // The controllers run on the allocator a `berth controller` gets (shared/malloc.ts); a bad
  // BERTH_MALLOC or a missing jemalloc asked for is said here, before anything starts.
  let ctlEnv: NodeJS.ProcessEnv;
  try {
    ctlEnv = controllerEnv(process.env);
  } catch (e) {
    if (e instanceof MallocError) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
  const n = parseCountFlag("--hosts", o.hosts, 1, 250);
  const port = parseCountFlag("--port", o.port, 1, 65536 - nc);
  const metricsPort = o.metricsPort === "off" ? 0 : parseCountFlag("--metrics-port", o.metricsPort, 1, 65534, ", or off");
  const metricsAt = (host: string, p: number): string => (metricsPort ? `${host}:${p}` : "off");
  const uiFlag = o.uiPort === undefined ? undefined : o.uiPort === "off" ? 0 : parseCountFlag("--ui-port", o.uiPort, 1, 65535, ", or off");
  const etcdPort = parseCountFlag("--etcd-port", o.etcdPort, 1, 65535);
  // Every port on 127.0.0.1, checked apart before anything starts.
  const ports = devPorts({ controllers: nc, port, metricsPort, uiPort: uiFlag, etcdPort });
  const uiPort = ports.ui[0] ?? 0;
  const root = resolve(o.dataDir);
  const logs = join(root, "logs");
  // The logs hold what services print (and the agents' view of the fleet): this user's only.
  // The root is traversable, not readable (0711, as /var/lib is): run as root, agents run each
  // service as its own user (berth-<service>), which must reach its folder below hosts/.
  await mkdir(root, { recursive: true, mode: 0o711 });
  await mkdir(logs, { recursive: true, mode: 0o700 });
  await shieldFromCheckout(root);
  await chmod(root, 0o711);
  await chmod(logs, 0o700);
  const shut = process.getuid?.() === 0 ? await untraversable(root) : undefined;
  if (shut) {
    process.stderr.write(
      `berth dev: warning: ${shut} is not traversable by other users, so services (which run as their own users, berth-<service>) cannot reach their files under ${root}: \`chmod o+x ${shut}\`, or give --data-dir a folder under /tmp or /var/lib\n`,
    );
  }
  // Every member, as agents and the CLI take them: "127.0.0.1:7420,127.0.0.1:7421,…".
  const ctlAddrs = ports.controllers.map((p) => `127.0.0.1:${p}`);
  const addr = ctlAddrs.join(",");
  // Before anything starts: a second `npm start` says which fleet runs and stops.
  let release: () => Promise<void>;
  try {
    release = await claimDevFleet({ pid: process.pid, dataDir: root, addr });
  } catch (e) {
    if (e instanceof FleetRunningError) {
      // Beside it, a second fleet needs every port of its own too: a group has five kinds.
      const others = nc > 1 ? "--data-dir, --port, --ui-port, --metrics-port and --etcd-port" : "--data-dir, --port, --ui-port and --metrics-port";
      throw new CliError(e.message, EXIT.failed, `use that fleet (Ctrl-C in its terminal, or kill -TERM its pid, stops it), or run another beside it with other ${others}`);
    }
    throw e;
  }
  const busy = await portsTaken(portUses({ controllers: nc, port, metricsPort, uiPort: uiFlag, etcdPort }, ports));
  if (busy.length > 0) {
    await release();
    // One port a line: a group's fifteen on one line made a 2,000-character error.
    throw new CliError(`${busy.length === 1 ? "a port is" : `${busy.length} ports are`} taken, so nothing was started:\n${busy.map((b) => `  127.0.0.1:${b.port}, for ${b.what} (${b.why})`).join("\n")}`, EXIT.usage, "give other ports (--port, --ui-port, --metrics-port, --etcd-port), below 32768 where you can: ports above are handed to outgoing connections");
  }
  const children: Child[] = [];
  const self = berthCommand();

  const start = (name: string, args: string[], env: NodeJS.ProcessEnv = {}): Child => startRaw(name, self[0]!, [...self.slice(1), ...args, "--log-level", o.logLevel], env);
  const startRaw = (name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Child => {
    const log = join(logs, `${name}.log`);
    const out = createWriteStream(log, { flags: "a", mode: 0o600 });
    // A process group of its own: a Ctrl-C (the terminal signals the whole foreground group) or a
    // signal to npm's group reaches berth dev alone, which stops agents, then controllers, then etcd.
    const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, detached: true });
    proc.stdout.pipe(out);
    proc.stderr.pipe(out);
    const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
    const c = { name, proc, log, exited };
    children.push(c);
    return c;
  };

  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    // Agents first, so the controller does not record them as lost on the way out; etcd last.
    const agents = children.filter((c) => c.name.startsWith("host-"));
    const ctl = children.filter((c) => c.name.startsWith("controller"));
    const etcd = children.filter((c) => c.name.startsWith("etcd"));
    for (const group of [agents, ctl, etcd]) {
      for (const c of group) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
      await Promise.race([
        Promise.all(group.map((c) => c.exited)),
        new Promise((r) => setTimeout(r, 5000).unref()),
      ]);
      for (const c of group) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
      // An agent that died before (kill -9) could not stop its services: they are stopped here.
      if (group === agents) {
        for (const c of agents) {
          const left = await stopProcessesIn(join(root, "hosts", c.name, "instances"));
          if (left.length) process.stderr.write(`stopped ${left.length} service process${left.length > 1 ? "es" : ""} left by ${c.name}, whose agent had ended before it could (pid ${left.join(", ")})\n`);
        }
      }
    }
    await release();
  };
  const onSignal = (): void => {
    // Once: the same stop often comes twice (npm passes on the signal its process group got too).
    if (stopping) return;
    stopping = true;
    process.stderr.write("\nstopping the fleet …\n");
    void stopAll().then(() => {
      process.stderr.write("the fleet is stopped\n");
      process.exit(0);
    });
  };
  // Kept for good (not once): a second signal while stopping would otherwise end berth dev half way.
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Its children have process groups of their own: a closed terminal reaches them through berth dev.
  process.on("SIGHUP", onSignal);

  let api: Api | undefined;
  try {
    // A group: its etcd members first, then one controller per member, all sharing one secrets key.
    const groupArgs: string[][] = [[]];
    if (nc > 1) {
      const peers = ports.etcdPeer.map((p, i) => `e${i + 1}=http://127.0.0.1:${p}`).join(",");
      for (let i = 0; i < nc; i++) {
        const client = `http://127.0.0.1:${ports.etcdClient[i]!}`;
        const peer = `http://127.0.0.1:${ports.etcdPeer[i]!}`;
        const etcdDir = join(root, "etcd", `e${i + 1}`);
        await mkdir(etcdDir, { recursive: true, mode: 0o700 });
        startRaw(`etcd-${i + 1}`, etcdBin, [`--name=e${i + 1}`, `--data-dir=${etcdDir}`, `--listen-client-urls=${client}`, `--advertise-client-urls=${client}`, `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=${peers}`, "--initial-cluster-state=new", "--initial-cluster-token=berth-dev", "--heartbeat-interval=100", "--election-timeout=1000"]);
      }
      const keyFile = join(root, "secrets.key");
      if (!existsSync(keyFile)) await writeFile(keyFile, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
      const store = `etcd://${ports.etcdClient.map((p) => `127.0.0.1:${p}`).join(",")}`;
      groupArgs.length = 0;
      for (let i = 0; i < nc; i++) groupArgs.push(["--store", store, "--name", `c${i + 1}`, "--secrets-key-file", keyFile]);
    }
    // One controller: <root>/controller, as before; a group: <root>/controller-1 … (its CA and tokens live in etcd).
    const ctlDirs = groupArgs.map((_, i) => join(root, nc > 1 ? `controller-${i + 1}` : "controller"));
    // Grace: the agents start only once the controller answers, and on a loaded
    // machine each takes seconds to connect; a host known from the last run must
    // not be declared down (its service replaced) before its agent could connect.
    // As long as this command itself waits for them; it watches its agents anyway.
    const ctls = groupArgs.map((extra, i) =>
      start(nc > 1 ? `controller-${i + 1}` : "controller", ["controller", "--data-dir", ctlDirs[i]!, "--listen", ctlAddrs[i]!, "--metrics-addr", metricsAt("127.0.0.1", ports.metrics[i]!), "--grace", `${READY_WAIT_MS / 1000}s`, "--cert-ttl", o.certTtl, "--no-write-config", "--ui-addr", ports.ui[i] ? `127.0.0.1:${ports.ui[i]}` : "off", ...(environment ? ["--environment", environment] : []), ...extra], ctlEnv),
    );
    const ctlDead = (): string | undefined => {
      const dead = [...ctls, ...children.filter((c) => c.name.startsWith("etcd"))].find(gone);
      return dead ? `${dead.name} ${howEnded(dead.proc)}${lastError(dead.log)}; see ${dead.log}` : undefined;
    };
    const cfg = await waitFor(nc > 1 ? `the ${nc} controllers` : "the controller", nc > 1 ? 60_000 : 30_000, async () => {
      // The bootstrap admin token is written by whichever member made it.
      const tokenDir = ctlDirs.find((d) => existsSync(join(d, "admin.token")));
      if (!tokenDir) return undefined;
      const token = (await readFile(join(tokenDir, "admin.token"), "utf8")).trim();
      const ca = await readFile(join(tokenDir, "ca.crt"), "utf8");
      const c = { addr, token, ca };
      const probe = connect(c);
      try {
        if (nc === 1) await call(probe, probe.client.WhoAmI, {}, 2000);
        else {
          // Every member registered, and one leads.
          const g = await call(probe, probe.client.ListControllers, {}, 2000);
          if (g.members.length < nc || !g.leader) return undefined;
        }
        return c;
      } finally {
        probe.close();
      }
    }, ctlDead);
    // A config naming another controller is the user's: kept beside it, and said so.
    const cfgKept = await keepOtherConfig(configPath(), cfg);
    const cfgFile = await writeConfigFile(cfg);
    api = connect(cfg);

    const hostDirs = Array.from({ length: n }, (_, i) => join(root, "hosts", `host-${i + 1}`));
    const needJoin = hostDirs.filter((d) => !existsSync(join(d, "identity", "host.json"))).length;
    const join1 = needJoin ? (await call(api, api.client.CreateToken, { role: "agent", ttl_seconds: 600, uses: needJoin, description: "berth dev" })).token : "";
    hostDirs.forEach((dir, i) => {
      const args = ["agent", "--controller", addr, "--data-dir", dir, "--advertise-addr", `127.0.0.${i + 2}`, "--metrics-addr", metricsAt(`127.0.0.${i + 2}`, metricsPort + 1), "--labels", `dc=dc${(i % 2) + 1},dev=true`, "--stop-services-on-exit"];
      // In the environment, not argv: every local user can read argv in `ps`.
      start(`host-${i + 1}`, args, join1 ? { BERTH_JOIN_TOKEN: join1 } : {});
    });

    const a = api;
    const hosts = await waitFor(`${n} ready hosts`, READY_WAIT_MS, async () => {
      const res = await call(a, a.client.ListHosts, {}, 2000);
      const mine = res.hosts.filter((h) => /^127\.0\.0\.\d+$/.test(h.address) && Number(h.address.split(".")[3]) <= n + 1);
      // Up is connected and healthy: a host cordoned (or draining) in the last run counts, or `npm start` would never come back.
      return mine.filter((h) => h.status === "ready" || h.status === "cordoned" || h.status === "draining").length >= n ? res.hosts : undefined;
    }, () => ctlDead() ?? children.filter((c) => c.name.startsWith("host-") && gone(c)).map((c) => `${c.name} ${howEnded(c.proc)}${lastError(c.log)}; see ${c.log}`)[0]);

    let consoleUrl = "";
    if (uiPort) {
      const url = `https://127.0.0.1:${uiPort}/`;
      // In a group every member serves the console (on the next ports); the admin token is in whichever member's dir made it.
      const ctlDir = ctlDirs.find((d) => existsSync(join(d, "admin.token"))) ?? ctlDirs[0]!;
      const every = nc > 1 ? `; every member serves it, on ports ${ports.ui.join(", ")}` : "";
      consoleUrl = await signInCode(uiPort, cfg.token, cfg.ca).then(
        (code) => `\nWeb console: ${url} (the controller's certificate is from its own CA, ${join(ctlDir, "ca.crt")}${every})\n  sign in as the local admin, once, within 30 minutes: ${url}#/signin/${code}\n  later: sign in with the token in ${join(ctlDir, "admin.token")}\n`,
        (e: unknown) => `\nWeb console: ${url} (no sign-in link: ${(e as Error).message}; sign in with the token in ${join(ctlDir, "admin.token")})\n`,
      );
    }
    console.log(
      table(
        ["ID", "HOSTNAME", "ADDRESS", "STATUS", "LABELS"],
        hosts.map((h) => [h.id, h.facts?.hostname ?? "", h.address, h.status, Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(",")]),
      ),
    );
    console.log(`
A local fleet is running: ${nc > 1 ? `${nc} controllers on ${addr} (a group on a local etcd of ${nc} members, 127.0.0.1:${ports.etcdClient[0]}–${ports.etcdClient.at(-1)})` : `a controller on ${addr}`}${environment ? ` serving environment ${environment}` : ""} and ${n} agent${n > 1 ? "s" : ""} (data and logs in ${root}).
The berth CLI is set up for it (${cfgFile}${cfgKept ? `; the one it replaced, for ${cfgKept.addr}, is kept as ${cfgKept.file}` : existsSync(`${cfgFile}.before-dev`) ? `; yours from before is in ${cfgFile}.before-dev` : ""}); in another terminal, try:

  npx berth hosts${nc > 1 ? "\n  npx berth controllers" : ""}
  npx berth host show ${hosts[0]?.id ?? "<id>"}
  npx berth cordon ${hosts[0]?.id ?? "<id>"}     # and uncordon ${hosts[0]?.id ?? "<id>"}
  npx berth events -f
${consoleUrl}${metricsPort ? `\nMetrics: http://127.0.0.1:${metricsPort}/metrics (${nc > 1 ? `controller c1; c2… on ports ${ports.metrics.slice(1).join(", ")}` : "controller"}), http://127.0.0.2:${metricsPort + 1}/metrics … (agents).\n` : ""}
Ctrl-C stops the fleet; ${process.env.npm_lifecycle_event === "start" ? "`npm start`" : "the same command"} brings the same one back.`);

    // Stay in the foreground; report processes that die on their own.
    for (const c of children) {
      void c.exited.then(() => {
        if (stopping) return;
        console.error(`${c.name} ${howEnded(c.proc)}; its log: ${c.log}${nc > 1 && c.name.startsWith("controller") ? " (the group goes on without it; Ctrl-C and berth dev again bring every member back)" : ""}`);
        if (nc === 1 && c.name === "controller") onSignal();
      });
    }
    await new Promise<never>(() => undefined);
  } catch (e) {
    await stopAll();
    throw e;
  } finally {
    api?.close();
  }
}

/**
 * A package.json of its own at the fleet's root. Services unpack below it, and Node
 * looks upward from a program for the nearest package.json to learn whether its .js
 * files are ES modules: under the default --data-dir (.berth in berth's checkout) it
 * would find berth's own `"type": "module"`, and a plain CommonJS server.js (require)
 * would fail there that runs on any real host. A service's own package.json still wins.
 */
async function shieldFromCheckout(root: string): Promise<void> {
  const file = join(root, "package.json");
  if (existsSync(file)) return;
  await writeFile(file, JSON.stringify({ "//": "berth dev: services under this folder are not part of any package above it (see cli/run/dev.ts)" }, null, 2) + "\n", { mode: 0o644 });
}

/**
 * When the CLI config names another controller (or another CA), or cannot be read, a copy
 * of it beside it (config.json.before-dev); undefined when there is none, it is this
 * fleet's already, or a copy is kept already: the first copy is the user's own, later
 * ones would be other dev fleets' (a fresh data dir, another port) and must not replace it.
 */
async function keepOtherConfig(file: string, next: ClientConfig): Promise<{ file: string; addr: string } | undefined> {
  const kept = `${file}.before-dev`;
  if (!existsSync(file) || existsSync(kept)) return undefined;
  let old: Awaited<ReturnType<typeof readConfigFile>>;
  try {
    old = await readConfigFile(file);
  } catch {
    old = undefined;
  }
  if (old && old.addr === next.addr && old.ca === next.ca) return undefined;
  await writeFile(kept, await readFile(file), { mode: 0o600 });
  return { file: kept, addr: old?.addr ?? "an unreadable config" };
}