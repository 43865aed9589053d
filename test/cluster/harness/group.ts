/**
 * A controller group for cluster tests (issue 11): a real 3-member etcd (harness/etcd.ts),
 * N `berth controller --store etcd://…` members on the controller node (ports PORT, PORT+1,
 * …, names c1, c2, …, one shared secrets key) and an agent per host given every member.
 * Loopback topology: the etcd members listen on loopback addresses of the root network
 * namespace, which a namespaced controller could not reach. destroy() removes every
 * process, the etcd data and the temp dir, also after a failure.
 *
 * `etcd: "with-controllers"` (network namespaces, root) puts every member in a namespace
 * of its own with its etcd member — controller i and etcd member i on node i, the agents
 * on the nodes after them, the CLI on node 0 — so partitionController(i) cuts a
 * controller and its etcd member off together, as a machine or a zone is lost.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH_MAIN, CONTROLLER_METRICS_PORT, PORT, UI_PORT_OFFSET, type CliResult, type EventJson, type HostJson, type StatusJson } from "./cluster.js";
import { startEtcdCluster, type EtcdCluster } from "./etcd.js";
import { createTopology, recentOutput, type Topology } from "./topology.js";
import { killProcessGroup, killProcessesUnder, spawnAgent, terminate } from "./procs.js";
import { waitFor } from "./wait.js";
import { controllerEnv } from "../../../shared/malloc.js";

export interface GroupHostJson extends HostJson {
  member: string;
}

export interface ControllersJson {
  members: { id: string; address: string; leader: boolean; agents: number; self: boolean }[];
  leader: string;
  /** When the leader took the lead (ms since the epoch; a string as JSON gives uint64). */
  leader_since_ms: number | string;
  store: string;
  /** Members seen before and not registered now (lost, or left cleanly). */
  gone: { id: string; address: string; gone_since_ms: number | string; left: boolean }[];
}

export interface GroupOptions {
  controllers: number;
  hosts: number;
  /** @default "3s" */
  lease?: string;
  /** @default "3s" */
  ttl?: string;
  /** @default "500ms" */
  heartbeat?: string;
  /**
   * "loopback": etcd on loopback addresses of this namespace, every controller on node 0.
   * "with-controllers": each controller with its own etcd member in a network namespace
   * of its own (root; throws without namespaces). @default "loopback"
   */
  etcd?: "loopback" | "with-controllers";
  /** Each member serves the web console at its gRPC port + UI_PORT_OFFSET (uiUrl). @default false: --ui-addr off */
  ui?: boolean;
  /** More flags for every member (`--front haproxy`). @default none */
  controllerArgs?: string[];
}

export class Group {
  readonly controllers = new Map<number, ChildProcess>();
  readonly agents = new Map<number, ChildProcess>();
  adminToken = "";
  caFile = "";

  private constructor(
    readonly topo: Topology,
    readonly etcd: EtcdCluster,
    readonly dir: string,
    readonly opts: Required<GroupOptions>,
  ) {}

  static async start(o: GroupOptions): Promise<Group> {
    const opts = { lease: "3s", ttl: "3s", heartbeat: "500ms", etcd: "loopback" as const, ui: false, controllerArgs: [], ...o };
    if (opts.etcd === "with-controllers") return Group.startInNamespaces(opts);
    const etcd = await startEtcdCluster({ members: 3 });
    let topo: Topology | undefined;
    let dir: string | undefined;
    try {
      topo = await createTopology({ hosts: o.hosts, mode: "loopback" });
      dir = await mkdtemp(join(tmpdir(), "berth-group-"));
      // Traversable, as /var/lib is: services run as their own users and must reach their folders in the agents' data dirs.
      await chmod(dir, 0o711);
      await writeFile(join(dir, "secrets.key"), randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
      return await new Group(topo, etcd, dir, opts).boot();
    } catch (e) {
      await topo?.destroy().catch(() => undefined);
      if (dir) await rm(dir, { recursive: true, force: true });
      await etcd.stop();
      throw e;
    }
  }

  /** etcd: "with-controllers": node i holds controller i and etcd member i; the agents follow. */
  private static async startInNamespaces(opts: Required<GroupOptions>): Promise<Group> {
    const topo = await createTopology({ hosts: opts.controllers + opts.hosts, mode: "netns" });
    let etcd: EtcdCluster | undefined;
    let dir: string | undefined;
    try {
      if (opts.controllers !== 3) throw new Error("etcd with-controllers: a 3-member etcd needs 3 controllers");
      etcd = await startEtcdCluster({
        members: 3,
        placement: {
          address: (i) => topo.hostAddr(i + 1),
          spawn: (i, argv) => topo.spawn(i + 1, argv),
          get: async (i, url) => (await topo.run(i + 1, ["curl", "-s", "--max-time", "2", url], { timeoutMs: 10_000 })).stdout,
        },
      });
      dir = await mkdtemp(join(tmpdir(), "berth-group-"));
      await chmod(dir, 0o711);
      await writeFile(join(dir, "secrets.key"), randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
      return await new Group(topo, etcd, dir, opts).boot();
    } catch (e) {
      await topo.destroy().catch(() => undefined);
      if (dir) await rm(dir, { recursive: true, force: true });
      await etcd?.stop();
      throw e;
    }
  }

  private async boot(): Promise<Group> {
    const o = this.opts;
    try {
      for (let i = 1; i <= o.controllers; i++) this.startController(i);
      await this.waitForGroup();
      const token = await this.joinToken(o.hosts);
      for (let i = 1; i <= o.hosts; i++) this.startAgent(i, token);
      await this.waitForHosts((hs) => hs.filter((h) => h.status === "ready").length === o.hosts, `${o.hosts} ready hosts`);
      return this;
    } catch (e) {
      await this.destroy();
      throw e;
    }
  }

  /** The node controller i runs on: 0 on loopback, i with its etcd member. */
  ctlNode(i: number): number {
    return this.opts.etcd === "with-controllers" ? i : 0;
  }

  /** The node host i's agent runs on. */
  hostNode(i: number): number {
    return this.opts.etcd === "with-controllers" ? this.opts.controllers + i : i;
  }

  /** Cuts controller i's node off the network (with its etcd member, in "with-controllers"). */
  partitionController(i: number): Promise<void> {
    if (this.ctlNode(i) === 0) throw new Error("partitionController needs etcd: with-controllers (each controller on a node of its own)");
    return this.topo.partition(this.ctlNode(i));
  }

  healController(i: number): Promise<void> {
    return this.topo.heal(this.ctlNode(i));
  }

  /** Controller i's /metrics address (with-controllers only; off otherwise). */
  metricsAddr(i: number): string | undefined {
    return this.opts.etcd === "with-controllers" ? `${this.topo.hostAddr(this.ctlNode(i))}:${CONTROLLER_METRICS_PORT}` : undefined;
  }

  /** Member i's name (1-based): c1, c2, … */
  name(i: number): string {
    return `c${i}`;
  }

  /** Member i's host and gRPC port: its node's address at PORT, or on loopback PORT + i - 1 on node 0's. */
  private hostPort(i: number): { host: string; port: number } {
    return this.opts.etcd === "with-controllers" ? { host: this.topo.hostAddr(this.ctlNode(i)), port: PORT } : { host: this.topo.controllerAddr, port: PORT + i - 1 };
  }

  /** Member i's address, as agents and the CLI take it. */
  addr(i: number): string {
    const { host, port } = this.hostPort(i);
    return `${host}:${port}`;
  }

  /** Member i's web console address (with `ui`): its host, at its gRPC port + UI_PORT_OFFSET. */
  uiAddr(i: number): string {
    const { host, port } = this.hostPort(i);
    return `${host}:${port + UI_PORT_OFFSET}`;
  }

  uiUrl(i: number): string {
    return `https://${this.uiAddr(i)}/`;
  }

  /** Every member, "a,b,c". */
  get addrs(): string {
    return Array.from({ length: this.opts.controllers }, (_, i) => this.addr(i + 1)).join(",");
  }

  /** The member index of a name. */
  index(name: string): number {
    const i = Number(name.replace(/^c/, ""));
    if (!Number.isInteger(i) || i < 1 || i > this.opts.controllers) throw new Error(`not a member of this group: ${name}`);
    return i;
  }

  ctlDir(i: number): string {
    return join(this.dir, `controller-${i}`);
  }

  hostDir(i: number): string {
    return join(this.dir, `host-${i}`);
  }

  startController(i: number): ChildProcess {
    const p = this.topo.spawn(this.ctlNode(i), [
      process.execPath, BERTH_MAIN, "controller",
      "--store", this.etcd.url,
      "--name", this.name(i),
      "--lease", this.opts.lease,
      "--data-dir", this.ctlDir(i),
      "--listen", this.addr(i),
      "--ttl", this.opts.ttl,
      "--heartbeat-interval", this.opts.heartbeat,
      "--secrets-key-file", join(this.dir, "secrets.key"),
      "--metrics-addr", this.metricsAddr(i) ?? "off",
      "--ui-addr", this.opts.ui ? this.uiAddr(i) : "off",
      "--no-write-config",
      ...this.opts.controllerArgs,
    ], { env: controllerEnv(process.env) });
    this.controllers.set(i, p);
    return p;
  }

  /** Every member answers `berth controllers` and one leads; the admin token and CA are read. */
  async waitForGroup(timeoutMs = 60_000): Promise<ControllersJson> {
    return waitFor(
      async () => {
        for (const [i, p] of this.controllers) {
          if (p.exitCode !== null) throw new Error(`controller c${i} exited ${p.exitCode}: ${recentOutput(p).stderr.slice(-2000)}`);
        }
        if (!this.adminToken) {
          const made = [...this.controllers.keys()].map((i) => this.ctlDir(i)).find((d) => existsSync(join(d, "admin.token")));
          if (!made) return undefined;
          this.adminToken = (await readFile(join(made, "admin.token"), "utf8")).trim();
          this.caFile = join(made, "ca.crt");
        }
        const g = await this.controllersJson();
        return g.leader && g.members.length >= this.controllers.size ? g : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `the ${this.controllers.size} controllers to answer, one leading` },
    );
  }

  /** SIGKILL of member i: nothing is flushed, leadership is not given up. */
  async kill(i: number): Promise<void> {
    const p = this.controllers.get(i);
    this.controllers.delete(i);
    await killProcessGroup(p);
  }

  /** SIGTERM of member i, waited for (SIGKILL after 20 s): a clean stop. */
  async stop(i: number): Promise<void> {
    const p = this.controllers.get(i);
    this.controllers.delete(i);
    if (p) await terminate(p, { killAfterMs: 20_000 });
  }

  /** SIGTERM every member at once and wait until all have exited (SIGKILL after 20 s). */
  async stopAll(): Promise<void> {
    const procs = [...this.controllers.values()];
    this.controllers.clear();
    await Promise.all(procs.map((p) => terminate(p, { killAfterMs: 20_000 })));
  }

  startAgent(i: number, token?: string): ChildProcess {
    const p = spawnAgent(this.topo, i, { controllers: this.addrs, dataDir: this.hostDir(i), metricsAddr: "off", token, node: this.hostNode(i) });
    this.agents.set(i, p);
    return p;
  }

  /** The CLI's environment; `members`: its BERTH_ADDR (default every member). */
  env(members = this.addrs): NodeJS.ProcessEnv {
    return { BERTH_ADDR: members, BERTH_TOKEN: this.adminToken, BERTH_CA: this.caFile, XDG_CONFIG_HOME: join(this.dir, "xdg"), NO_COLOR: "1" };
  }

  cli(args: string[], o: { members?: string; timeoutMs?: number } = {}): Promise<CliResult> {
    return this.topo.run(0, [process.execPath, BERTH_MAIN, ...args], { env: this.env(o.members), timeoutMs: o.timeoutMs ?? 30_000 });
  }

  async cliJson<T>(args: string[], o: { members?: string } = {}): Promise<T> {
    const r = await this.cli([...args, "-o", "json"], o);
    if (r.code !== 0) throw new Error(`berth ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  controllersJson(members?: string): Promise<ControllersJson> {
    return this.cliJson<ControllersJson>(["controllers"], { members });
  }

  /**
   * A member other than `old` leads, as `via` (BERTH_ADDR; default every member) sees it:
   * the view that says so. A view that cannot be had (the member asked is being killed) is
   * asked again (waitFor counts a throw as "not yet" and names the last one on a timeout).
   */
  waitForNewLeader(old: string, o: { via?: string; timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<ControllersJson> {
    return waitFor(async () => {
      const c = await this.controllersJson(o.via);
      // And its record of when it took the lead: `leader_since_ms` is 0 until that guarded write lands
      // (seen once: a new leader named through another member 2.8 s after the kill, its since still 0).
      return c.leader && c.leader !== old && Number(c.leader_since_ms) > 0 ? c : undefined;
    }, { timeoutMs: o.timeoutMs ?? 60_000, intervalMs: o.intervalMs ?? 100, what: o.what ?? `a member other than ${old} to lead` });
  }

  hosts(): Promise<GroupHostJson[]> {
    return this.cliJson<GroupHostJson[]>(["hosts"]);
  }

  waitForHosts(pred: (hs: GroupHostJson[]) => boolean, what: string, timeoutMs = 60_000): Promise<GroupHostJson[]> {
    return waitFor(async () => {
      const hs = await this.hosts();
      return pred(hs) ? hs : undefined;
    }, { timeoutMs, intervalMs: 200, what });
  }

  events(): Promise<EventJson[]> {
    return this.cliJson<EventJson[]>(["events", "-n", "10000"]);
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

  async specDir(name: string, files: Record<string, string>): Promise<string> {
    const { mkdir } = await import("node:fs/promises");
    const dir = join(this.dir, "specs", name);
    await mkdir(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
    return dir;
  }

  /** apply with every member given: the CLI uploads to the one that answers, which copies it to another before it acknowledges. */
  apply(dir: string, extra: string[] = []): Promise<CliResult> {
    return this.cli(["apply", "-f", dir, ...extra], { timeoutMs: 120_000 });
  }

  async dumpLogs(): Promise<string> {
    const parts: string[] = [];
    for (const [i, p] of this.controllers) parts.push(`--- controller c${i}\n${recentOutput(p).stdout.slice(-20_000)}${recentOutput(p).stderr}`);
    for (const [i, p] of this.agents) parts.push(`--- host ${i}\n${recentOutput(p).stdout.slice(-10_000)}${recentOutput(p).stderr}`);
    const text = parts.join("\n");
    await writeFile(join(tmpdir(), "berth-group-last.log"), text).catch(() => undefined);
    return text;
  }

  async destroy(): Promise<void> {
    await this.topo.destroy().catch(() => undefined);
    // The agents are gone; their services (own sessions, on loopback in no namespace) are not.
    await killProcessesUnder(this.dir);
    await this.etcd.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
