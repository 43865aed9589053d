/**
 * A berth fleet on a topology: a real controller process on node 0, a real
 * agent process per host, each with its own data dir, driven through the real
 * `berth` CLI (run on the controller's node, since the test process has no route
 * into the namespaces). Everything it makes is removed by destroy(), also when
 * a test fails.
 */
import type { ChildProcess } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTopology, recentOutput, type Topology } from "./topology.js";
import { BERTH_BIN, BERTH_MAIN, killProcessGroup, killProcessesUnder, spawnAgent, terminate } from "./procs.js";
import { waitFor } from "./wait.js";
import { controllerEnv } from "../../../shared/malloc.js";

export { ROOT, BERTH_MAIN, BERTH_BIN } from "./procs.js";
export const PORT = 7420;
/** /metrics of the controller and of every agent, each on its node's own address. */
export const CONTROLLER_METRICS_PORT = 9464;
export const AGENT_METRICS_PORT = 9465;
/** The web console's port is the controller's + this. */
export const UI_PORT_OFFSET = 1000;

export interface HostJson {
  id: string;
  status: string;
  cordoned: boolean;
  address: string;
  labels: Record<string, string>;
  facts: Record<string, unknown> & { hostname: string; cpu_cores: number; memory_total_bytes: number; filesystems: unknown[]; interfaces: unknown[]; virtual: boolean; hypervisor: string };
  usage: { load1: number; cpu_percent: number; memory_used_bytes: number; disk_total_bytes: number } | null;
  last_heartbeat_ms: number;
  last_heartbeat_age_ms: number | null;
  connected: boolean;
  service: string;
  cert_expires_ms: number;
  cert_serial: string;
  connected_cert_serial: string;
  /** Copies replaced while the host was down that it may still run ("web-0 (epoch 4)"). */
  may_still_run: string[];
}

export interface InstanceJson {
  instance: string;
  slot: number;
  host: string;
  host_address: string;
  state: string;
  detail: string;
  epoch: number;
  revision: number;
  restarts: number;
  pinned_host: string;
  reason: string;
  moving_to: string;
  pid: number;
  resources_enforced: boolean;
  resources_note: string;
  /** Install output: while installing or failed, and after a failed install the output it left (issue 12). */
  install_tail?: string;
  /** Older copies that may still run on hosts judged down (failover.stopAfterDisconnect off). */
  left_on: { host: string; epoch: number; at_ms: number }[];
  /** Asked to leave its host, and no host can take it. */
  stuck: boolean;
  /** Why it waits, as a kind: "unplaced", "backoff", "held"; "" when it does not. */
  waiting: string;
}

export interface StatusJson {
  name: string;
  revision: number;
  instances: InstanceJson[];
}

export interface EventJson {
  seq: number;
  time_ms: number;
  type: string;
  host: string;
  service: string;
  message: string;
}

export interface ClusterOptions {
  hosts: number;
  mode?: "auto" | "netns" | "loopback";
  /** @default "3s" */
  ttl?: string;
  /** @default "500ms" */
  heartbeat?: string;
  /** Start the agents at once (default true). */
  startAgents?: boolean;
  /** The controller's --cert-ttl. @default its own default (30d) */
  certTtl?: string;
  /** More flags for `berth controller` (e.g. --hooks-addr). */
  controllerArgs?: string[];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Cluster {
  readonly agents = new Map<number, ChildProcess>();
  controller: ChildProcess | undefined;
  /** The controller's port: PORT, unless a test restarted it on another (a second member's address). */
  controllerPort = PORT;
  adminToken = "";
  caFile = "";

  private constructor(
    readonly topo: Topology,
    readonly dir: string,
    readonly opts: Required<Omit<ClusterOptions, "mode" | "certTtl">> & Pick<ClusterOptions, "certTtl">,
  ) {}

  static async start(o: ClusterOptions): Promise<Cluster> {
    const topo = await createTopology({ hosts: o.hosts, mode: o.mode });
    const dir = await mkdtemp(join(tmpdir(), "berth-cluster-"));
    // Traversable, as /var/lib is: services run as their own users and must reach their folders in the agents' data dirs.
    await chmod(dir, 0o711);
    const c = new Cluster(topo, dir, { hosts: o.hosts, ttl: o.ttl ?? "3s", heartbeat: o.heartbeat ?? "500ms", startAgents: o.startAgents ?? true, certTtl: o.certTtl, controllerArgs: o.controllerArgs ?? [] });
    try {
      await c.startController();
      if (c.opts.startAgents) {
        const token = await c.joinToken(o.hosts);
        for (let i = 1; i <= o.hosts; i++) c.startAgent(i, { token });
        await c.waitForHosts((hs) => hs.filter((h) => h.status === "ready").length === o.hosts, `${o.hosts} ready hosts`);
      }
      return c;
    } catch (e) {
      await c.destroy();
      throw e;
    }
  }

  get controllerAddr(): string {
    return `${this.topo.controllerAddr}:${this.controllerPort}`;
  }

  /** The web console (reachable from the test process in loopback mode only). */
  get uiUrl(): string {
    return `https://${this.topo.controllerAddr}:${this.controllerPort + UI_PORT_OFFSET}/`;
  }

  /** HOST:PORT on the controller's node at another port: an address for a (simulated) member of a group. */
  controllerAddrAt(port: number): string {
    return `${this.topo.controllerAddr}:${port}`;
  }

  /** The controller's /metrics, reachable from every node (not from the test process: see scrape()). */
  get controllerMetricsUrl(): string {
    return `http://${this.topo.controllerAddr}:${CONTROLLER_METRICS_PORT}/metrics`;
  }

  agentMetricsUrl(i: number): string {
    return `http://${this.topo.hostAddr(i)}:${AGENT_METRICS_PORT}/metrics`;
  }

  /**
   * GETs a URL from the controller's node, as the CLI is run there: the test
   * process has no route into the namespaces. Returns the body; throws unless 200.
   */
  async scrape(url: string): Promise<string> {
    const script = `fetch(${JSON.stringify(url)}).then(async (r) => { process.stdout.write(await r.text()); process.exitCode = r.status === 200 ? 0 : 1; }, (e) => { console.error(String(e.cause ?? e)); process.exitCode = 2; })`;
    const r = await this.topo.run(0, [process.execPath, "-e", script], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`GET ${url} failed (${r.code}): ${r.stderr}${r.stdout.slice(0, 500)}`);
    return r.stdout;
  }

  get ctlDir(): string {
    return join(this.dir, "controller");
  }

  hostDir(i: number): string {
    return join(this.dir, `host-${i}`);
  }

  /** Environment for the CLI: this cluster's controller, token and CA, and a config dir of its own. */
  env(token = this.adminToken): NodeJS.ProcessEnv {
    return { BERTH_ADDR: this.controllerAddr, BERTH_TOKEN: token, BERTH_CA: this.caFile, XDG_CONFIG_HOME: join(this.dir, "xdg"), NO_COLOR: "1" };
  }

  /**
   * Starts the controller (on another port with o.port: the same data dir, so the same CA
   * and records); o.args are more flags for it (`--environment prod`).
   */
  async startController(o: { port?: number; args?: string[] } = {}): Promise<void> {
    if (o.port !== undefined) this.controllerPort = o.port;
    this.controller = this.topo.spawn(0, [
      process.execPath,
      BERTH_MAIN,
      "controller",
      "--data-dir",
      this.ctlDir,
      "--listen",
      this.controllerAddr,
      "--ttl",
      this.opts.ttl,
      "--heartbeat-interval",
      this.opts.heartbeat,
      // Its own address, never the default 127.0.0.1: in loopback mode every node shares one loopback.
      "--metrics-addr",
      `${this.topo.controllerAddr}:${CONTROLLER_METRICS_PORT}`,
      // The web console likewise, at the gRPC port + 1000: a second member started on this node (another port) gets its own.
      "--ui-addr",
      `${this.topo.controllerAddr}:${this.controllerPort + UI_PORT_OFFSET}`,
      ...(this.opts.certTtl ? ["--cert-ttl", this.opts.certTtl] : []),
      "--no-write-config",
      ...(o.args ?? []),
      ...this.opts.controllerArgs,
    ], { env: controllerEnv(process.env) });
    const proc = this.controller;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`controller exited ${proc.exitCode}: ${recentOutput(proc).stdout}${recentOutput(proc).stderr}`);
        this.adminToken = (await readFile(join(this.ctlDir, "admin.token"), "utf8")).trim();
        this.caFile = join(this.ctlDir, "ca.crt");
        const r = await this.cli(["hosts", "-o", "json"]);
        return r.code === 0;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "the controller to answer" },
    );
  }

  /** SIGKILL: nothing is flushed, nothing is said goodbye. */
  async killController(): Promise<void> {
    await this.topo.killHost(0);
    this.controller = undefined;
  }

  /** SIGKILL of the controller process only: other processes on its node (a CLI following it) live on. */
  async killControllerProcess(): Promise<void> {
    const p = this.controller;
    this.controller = undefined;
    await killProcessGroup(p);
  }

  /** o.controllers: the agent's --controller (default: this controller's address). */
  startAgent(i: number, o: { token?: string; labels?: string; controllers?: string; extraArgs?: string[]; allowRoot?: boolean } = {}): ChildProcess {
    const p = spawnAgent(this.topo, i, { ...o, controllers: o.controllers ?? this.controllerAddr, dataDir: this.hostDir(i), metricsAddr: `${this.topo.hostAddr(i)}:${AGENT_METRICS_PORT}` });
    this.agents.set(i, p);
    return p;
  }

  /** Stops host i's agent with SIGTERM (a clean restart) and waits for it to exit. */
  stopAgent(i: number): Promise<void> {
    return terminate(this.agents.get(i));
  }

  async hostIdOf(i: number): Promise<string> {
    const meta = JSON.parse(await readFile(join(this.hostDir(i), "identity", "host.json"), "utf8")) as { hostId: string };
    return meta.hostId;
  }

  /** Runs `berth ARGS` through the bin, as a user would (BERTH_BIN); the daemons run main.js. */
  async cli(args: string[], o: { token?: string; node?: number; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    return this.topo.run(o.node ?? 0, [BERTH_BIN, ...args], { env: { ...this.env(o.token), ...o.env }, timeoutMs: o.timeoutMs ?? 30_000 });
  }

  async cliJson<T>(args: string[]): Promise<T> {
    const r = await this.cli([...args, "-o", "json"]);
    if (r.code !== 0) throw new Error(`berth ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  hosts(): Promise<HostJson[]> {
    return this.cliJson<HostJson[]>(["hosts"]);
  }

  events(): Promise<EventJson[]> {
    return this.cliJson<EventJson[]>(["events", "-n", "10000"]);
  }

  /** Writes spec files into a folder of this cluster and returns its path. */
  async specDir(name: string, files: Record<string, string>): Promise<string> {
    const { mkdir } = await import("node:fs/promises");
    const dir = join(this.dir, "specs", name);
    await mkdir(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
    return dir;
  }

  async apply(dir: string, extra: string[] = []): Promise<CliResult> {
    return this.cli(["apply", "-f", dir, ...extra], { timeoutMs: 120_000 });
  }

  status(name: string): Promise<StatusJson> {
    return this.cliJson<StatusJson>(["status", name]);
  }

  waitForStatus(name: string, pred: (s: StatusJson) => boolean, what: string, timeoutMs = 60_000): Promise<StatusJson> {
    return waitFor(async () => {
      const s = await this.status(name);
      return pred(s) ? s : undefined;
    }, { timeoutMs, intervalMs: 200, what });
  }

  async joinToken(uses: number, ttl = "10m"): Promise<string> {
    const r = await this.cli(["token", "create", "--role", "agent", "--uses", String(uses), "--ttl", ttl]);
    if (r.code !== 0) throw new Error(`token create failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  waitForHosts(pred: (hosts: HostJson[]) => boolean, what: string, timeoutMs = 30_000): Promise<HostJson[]> {
    return waitFor(async () => {
      const hs = await this.hosts();
      return pred(hs) ? hs : undefined;
    }, { timeoutMs, intervalMs: 100, what });
  }

  waitForEvent(pred: (e: EventJson) => boolean, what: string, timeoutMs = 30_000): Promise<EventJson> {
    return waitFor(async () => (await this.events()).find(pred), { timeoutMs, intervalMs: 100, what });
  }

  /** Logs of every process, for a failing test's report. */
  async dumpLogs(): Promise<string> {
    const parts: string[] = [];
    if (this.controller) parts.push(`--- controller\n${recentOutput(this.controller).stdout}${recentOutput(this.controller).stderr}`);
    for (const [i, p] of this.agents) parts.push(`--- host ${i}\n${recentOutput(p).stdout}${recentOutput(p).stderr}`);
    const text = parts.join("\n");
    await writeFile(join(tmpdir(), `berth-cluster-last.log`), text).catch(() => undefined);
    return text;
  }

  async destroy(): Promise<void> {
    await this.topo.destroy();
    // The agents are gone; their services (own sessions, outside a namespace on loopback) are not.
    await killProcessesUnder(this.dir);
    await rm(this.dir, { recursive: true, force: true });
  }
}
