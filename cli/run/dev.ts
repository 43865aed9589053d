/**
 * `berth dev --hosts N`: a whole local fleet in one command (what `npm start`
 * runs): a controller with its LevelDB store under ./.berth/ and N agents on
 * 127.0.0.2…, each its own process with its own data dir. Ctrl-C stops every
 * process it started. Run it again and the same fleet comes back: the store and
 * every agent's identity are kept in ./.berth/.
 *
 * Metrics: each agent has an address of its own (127.0.0.2 …), so all of them
 * serve /metrics on one port, the controller's metrics port + 1, each on its
 * own address — no port per agent to hand out or remember.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { call, connect, type Api } from "../client.js";
import { writeConfigFile } from "../config.js";
import { CliError, EXIT } from "../errors.js";
import { parseCertTtl } from "../duration-flag.js";
import { berthCommand } from "../self.js";
import { claimDevFleet, FleetRunningError } from "../dev-lock.js";
import { table } from "../output.js";

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

/** The reason a child gave for exiting: the CLI's last "berth: …" line in its log. */
function lastError(log: string): string {
  try {
    const line = readFileSync(log, "utf8").split("\n").reverse().find((l) => l.startsWith("berth: "));
    return line ? `: ${line.slice("berth: ".length)}` : "";
  } catch {
    return "";
  }
}

export async function dev(o: { hosts: string; dataDir: string; port: string; metricsPort: string; logLevel: string; certTtl: string }): Promise<void> {
  // Checked here, before anything starts, with the controller's own bounds.
  parseCertTtl(o.certTtl);
  const n = Number(o.hosts);
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new CliError(`--hosts ${o.hosts}: expected a whole number from 1 to 250`, EXIT.usage);
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`--port ${o.port}: expected 1–65535`, EXIT.usage);
  const metricsPort = o.metricsPort === "off" ? 0 : Number(o.metricsPort);
  if (o.metricsPort !== "off" && (!Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65534)) {
    throw new CliError(`--metrics-port ${o.metricsPort}: expected 1–65534, or off`, EXIT.usage);
  }
  const metricsAt = (host: string, p: number): string => (metricsPort ? `${host}:${p}` : "off");
  const root = resolve(o.dataDir);
  const logs = join(root, "logs");
  // The logs hold what services print (and the agents' view of the fleet): this user's only.
  await mkdir(root, { recursive: true, mode: 0o700 });
  await mkdir(logs, { recursive: true, mode: 0o700 });
  await chmod(root, 0o700);
  await chmod(logs, 0o700);
  const addr = `127.0.0.1:${port}`;
  // Before anything starts: a second `npm start` says which fleet runs and stops.
  let release: () => Promise<void>;
  try {
    release = await claimDevFleet({ pid: process.pid, dataDir: root, addr });
  } catch (e) {
    if (e instanceof FleetRunningError) throw new CliError(e.message, EXIT.failed, "use that fleet (Ctrl-C in its terminal, or kill -TERM its pid, stops it), or give another --data-dir and --port");
    throw e;
  }
  const children: Child[] = [];
  const self = berthCommand();

  const start = (name: string, args: string[], env: NodeJS.ProcessEnv = {}): Child => {
    const log = join(logs, `${name}.log`);
    const out = createWriteStream(log, { flags: "a", mode: 0o600 });
    const proc = spawn(self[0]!, [...self.slice(1), ...args, "--log-level", o.logLevel], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
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
    // Agents first, so the controller does not record them as lost on the way out.
    const agents = children.filter((c) => c.name !== "controller");
    const ctl = children.filter((c) => c.name === "controller");
    for (const group of [agents, ctl]) {
      for (const c of group) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
      await Promise.race([
        Promise.all(group.map((c) => c.exited)),
        new Promise((r) => setTimeout(r, 5000).unref()),
      ]);
      for (const c of group) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    }
    await release();
  };
  const onSignal = (): void => {
    process.stderr.write("\nstopping the fleet …\n");
    void stopAll().then(() => process.exit(0));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  let api: Api | undefined;
  try {
    const ctlDir = join(root, "controller");
    // Grace: the agents start only once the controller answers, and on a loaded
    // machine each takes seconds to connect; a host known from the last run must
    // not be declared down (its service replaced) before its agent could connect.
    // As long as this command itself waits for them; it watches its agents anyway.
    const ctl = start("controller", ["controller", "--data-dir", ctlDir, "--listen", addr, "--metrics-addr", metricsAt("127.0.0.1", metricsPort), "--grace", `${READY_WAIT_MS / 1000}s`, "--cert-ttl", o.certTtl, "--no-write-config"]);
    const ctlDead = (): string | undefined =>
      ctl.proc.exitCode !== null ? `the controller exited (code ${ctl.proc.exitCode})${lastError(ctl.log)}; see ${ctl.log}` : undefined;
    const cfg = await waitFor("the controller", 30_000, async () => {
      const token = (await readFile(join(ctlDir, "admin.token"), "utf8")).trim();
      const ca = await readFile(join(ctlDir, "ca.crt"), "utf8");
      const c = { addr, token, ca };
      const probe = connect(c);
      try {
        await call(probe, probe.client.WhoAmI, {}, 2000);
        return c;
      } finally {
        probe.close();
      }
    }, ctlDead);
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
    }, () => ctlDead() ?? children.filter((c) => c.name !== "controller" && c.proc.exitCode !== null).map((c) => `${c.name} exited (code ${c.proc.exitCode}); see ${c.log}`)[0]);

    console.log(
      table(
        ["ID", "HOSTNAME", "ADDRESS", "STATUS", "LABELS"],
        hosts.map((h) => [h.id, h.facts?.hostname ?? "", h.address, h.status, Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(",")]),
      ),
    );
    console.log(`
A local fleet is running: a controller on ${addr} and ${n} agent${n > 1 ? "s" : ""} (data and logs in ${root}).
The berth CLI is set up for it (${cfgFile}); in another terminal, try:

  npx berth hosts
  npx berth host show ${hosts[0]?.id ?? "<id>"}
  npx berth cordon ${hosts[0]?.id ?? "<id>"}
  npx berth events -f
${metricsPort ? `\nMetrics: http://127.0.0.1:${metricsPort}/metrics (controller), http://127.0.0.2:${metricsPort + 1}/metrics … (agents).\n` : ""}
Ctrl-C stops the fleet; \`npm start\` brings the same one back.`);

    // Stay in the foreground; report processes that die on their own.
    for (const c of children) {
      void c.exited.then((code) => {
        if (stopping) return;
        console.error(`${c.name} exited (code ${code}); its log: ${c.log}`);
        if (c.name === "controller") onSignal();
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
