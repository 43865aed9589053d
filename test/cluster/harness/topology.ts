// Low-level topology layer of the cluster-test harness: "machines" the tests can start
// processes on, kill, and cut off from the network.
//
// netns mode (root, `ip netns` usable): every node is a Linux network namespace with one
// veth into a bridge that itself lives in a namespace of its own, so the root namespace
// gets no link, route or address from us, and two runs never see each other's traffic.
//
//   bt<P>br  (namespace)  holds bridge  bt<P>br  and one port per node: bt<P>bc, bt<P>b<i>
//   bt<P>c   (namespace)  controller, i = 0: veth bt<P>c,    10.213.K.1/24
//   bt<P>h<i>(namespace)  host i >= 1:       veth bt<P>h<i>, 10.213.K.(i+1)/24
//
// P is the owning process's pid, followed by `x<n>` for the n-th concurrent topology of the
// same process (n = 0 has no suffix). Names carry the pid so cleanupLeftovers() can tell a
// crashed run's namespaces (pid dead) from those of a live concurrent run (pid alive).
// K = (pid + n) % 256 only makes addresses in logs tell runs apart; collisions are harmless
// because each run's bridge is in its own namespace. Node index i always maps to last octet
// i + 1, so at most 253 hosts. `lo` is up in every node namespace.
//
// loopback mode (not root, or `ip netns add` fails): plain processes, node i listens on
// 127.A.B.(i+1), where A.B is derived from (pid, n) so concurrent runs (and the usual
// 127.0.0.1 services) do not share addresses; all of 127/8 is local on Linux, so no setup
// is needed. There are no links to cut: partition()/heal() throw and `skipReason` says why.

import { execFile, execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./wait.js";

export interface TopologyOptions {
  /** Number of hosts (0..253); the controller node (index 0) is always there too. */
  hosts: number;
  /**
   * "auto" (default): netns when possible, else loopback. "netns": fail if namespaces are
   * unusable. "loopback": never use namespaces (to exercise the fallback as root).
   * The BERTH_TOPOLOGY environment variable sets the default.
   */
  mode?: "auto" | "netns" | "loopback";
}

export interface Topology {
  readonly mode: "netns" | "loopback";
  /** Why partition tests must be skipped (loopback mode only). */
  readonly skipReason?: string;
  /** Common name prefix of everything this topology made, e.g. `bt4242` (for diagnostics). */
  readonly prefix: string;
  /** Current number of hosts (grows with addHost()). */
  readonly hostCount: number;
  /** IP the controller listens on. */
  readonly controllerAddr: string;
  /** Address of host i (1..hostCount); i = 0 gives controllerAddr. */
  hostAddr(i: number): string;
  /**
   * Spawn a process "on" the controller (i = 0) or host i, in its own process group, with
   * stdin/stdout/stderr piped. `env` is merged over process.env. The output is drained
   * into a bounded tail (see recentOutput) so a chatty process never blocks on a full pipe.
   */
  spawn(i: number, argv: string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcess;
  /**
   * The argv that runs `argv` on node i (netns: `ip netns exec …`, which execs it, so
   * the pid is the program's), for callers that spawn it themselves, e.g. under a
   * pseudo-terminal. Such processes are not tracked: the caller kills them (netns
   * mode: destroy() still kills whatever runs in the namespace).
   */
  argvOn(i: number, argv: string[]): string[];
  /** Run to completion on node i, capture output, reject after timeoutMs (default 30 s). */
  run(
    i: number,
    argv: string[],
    opts?: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number },
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /**
   * SIGKILL every process on node i (netns: whatever `ip netns pids` lists plus the process
   * groups spawned there; loopback: the process groups this topology spawned for node i).
   * Resolves once they are gone and their ChildProcess objects have seen 'exit'.
   */
  killHost(i: number): Promise<void>;
  /** Take node i's link down (netns only; throws in loopback mode). Open TCP connections stall. */
  partition(i: number): Promise<void>;
  /**
   * Drop node i's packets one way only (netns only), the link staying up: "out" drops
   * what the node sends, "in" what is sent to it. A queue of length 0 (`tc qdisc … pfifo
   * limit 0`) on the sending end of its veth drops every packet there, TCP's
   * acknowledgements too: the side that still receives goes on hearing the other until
   * its window is full. (This kernel has neither netem nor tc actions nor netfilter.)
   */
  partitionOneWay(i: number, drop: "out" | "in"): Promise<void>;
  /** Bring node i's link back up and stop any one-way drop; resolves once the node's side has carrier again. */
  heal(i: number): Promise<void>;
  /** Add one more host at runtime; returns its index. */
  addHost(): Promise<number>;
  /** Kill every process it started and remove every namespace, veth and bridge. Idempotent. */
  destroy(): Promise<void>;
}

const NAME_BASE = "bt";
// bt<pid>[x<n>]<role>: role br = bridge (namespace and device), c = controller, bc = its
// bridge port, h<i> = host i, b<i> = its bridge port.
const NAME_RE = /^bt(\d+)(?:x(\d+))?(br|bc|c|h\d+|b\d+)$/;
const IFNAMSIZ = 15;
const MAX_HOSTS = 253;
// Generous: `ip` calls take milliseconds, but a loaded 2-core box running several agents
// can stall them, and the kernel's namespace cleanup work is serialized.
const IP_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 15_000;
const OUTPUT_TAIL_BYTES = 64 * 1024;
const OWNER_ENV = "BERTH_TOPOLOGY_OWNER";

interface NodeState {
  readonly index: number;
  readonly addr: string;
  /** netns mode: namespace name, also the node-side veth name. */
  readonly ns: string;
  /** netns mode: bridge-side veth name (in the bridge namespace). */
  readonly port: string;
  /** Process groups spawned here; removed on 'close'. */
  readonly children: Set<ChildProcess>;
}

// Topologies of this process that are not destroyed yet, for the exit/signal hooks.
const live = new Set<TopologyImpl>();
// Instance numbers in use by this process (also those still being created).
const usedInstances = new Set<number>();

export async function createTopology(opts: TopologyOptions): Promise<Topology> {
  const hosts = opts.hosts;
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > MAX_HOSTS) {
    throw new Error(`createTopology: hosts must be an integer in 0..${MAX_HOSTS}, got ${hosts}`);
  }
  const wanted = opts.mode ?? parseModeEnv(process.env["BERTH_TOPOLOGY"]);
  await cleanupLeftovers();

  let skipReason: string | undefined;
  let mode: "netns" | "loopback" = "netns";
  if (wanted === "loopback") {
    mode = "loopback";
    skipReason = "partition tests need network namespaces; loopback mode was requested";
  } else if (process.getuid?.() !== 0) {
    mode = "loopback";
    skipReason = "partition tests need network namespaces, which need root (running unprivileged)";
  }
  if (mode === "loopback" && wanted === "netns") {
    throw new Error(`createTopology: netns mode requested but unavailable: ${skipReason ?? ""}`);
  }

  if (mode === "netns") {
    const instance = await allocateInstance("netns");
    const topo = new TopologyImpl("netns", instance);
    let usable = true;
    try {
      // Creating the bridge namespace doubles as the probe for a usable `ip netns`.
      await ip(["netns", "add", topo.bridgeNs]);
    } catch (e) {
      // Root but no usable `ip netns` (no iproute2, no CAP_SYS_ADMIN in a container, ...).
      usedInstances.delete(instance);
      if (wanted === "netns") throw e;
      usable = false;
      skipReason = `partition tests need network namespaces, and \`ip netns add\` failed: ${errorText(e)}`;
    }
    if (usable) return build(topo, hosts);
  }
  return build(new TopologyImpl("loopback", await allocateInstance("loopback"), skipReason), hosts);
}

async function build(topo: TopologyImpl, hosts: number): Promise<Topology> {
  try {
    await topo.init(hosts);
    return topo;
  } catch (e) {
    // Leave nothing half-built behind; the original error is what the caller needs.
    await topo.destroy().catch(() => undefined);
    throw e;
  }
}

/**
 * Remove namespaces and links named after dead pids (runs that crashed or were SIGKILLed
 * before destroy()), killing whatever still runs in them, and SIGKILL stray processes a
 * dead run spawned in loopback mode (found by their environment marker). Anything named
 * after a live pid is left alone: it belongs to a concurrent run.
 */
export async function cleanupLeftovers(): Promise<void> {
  await killOrphans();
  if (process.getuid?.() !== 0) return; // nothing we could have made, nor could remove
  let namespaces: string[];
  let links: string[];
  try {
    [namespaces, links] = await Promise.all([listNamespaces(), listRootLinks()]);
  } catch {
    return; // no usable `ip`: then no namespaces of ours can exist either
  }
  const isDead = (name: string): boolean => {
    const pid = ownerPid(name);
    return pid !== undefined && !pidAlive(pid);
  };
  const deadNs = namespaces.filter(isDead);
  const deadLinks = links.filter(isDead);
  if (deadNs.length === 0 && deadLinks.length === 0) return;

  await Promise.all(deadNs.map((ns) => killNamespaceProcesses(ns)));
  await Promise.all([
    ...deadNs.map((ns) => ipIgnoringMissing(["netns", "del", ns])),
    // Our scheme never puts links in the root namespace; these would come from a run that
    // died between creating a veth and moving it (older scheme or manual experiments).
    ...deadLinks.map((l) => ipIgnoringMissing(["link", "del", l])),
  ]);
  await waitGone(new Set([...deadNs, ...deadLinks]), "leftover namespaces/links of dead runs to vanish");
}

/** The last 64 KiB of a spawned process's stdout and stderr (for failure messages). */
export function recentOutput(child: ChildProcess): { stdout: string; stderr: string } {
  const tail = tails.get(child);
  return { stdout: tail?.stdout ?? "", stderr: tail?.stderr ?? "" };
}

const tails = new WeakMap<ChildProcess, { stdout: string; stderr: string }>();

class TopologyImpl implements Topology {
  readonly prefix: string;
  readonly bridgeNs: string;
  private readonly subnet: string;
  private readonly nodes: NodeState[] = [];
  private destroying: Promise<void> | undefined;

  constructor(
    readonly mode: "netns" | "loopback",
    private readonly instance: number,
    readonly skipReason?: string,
  ) {
    const pid = process.pid;
    this.prefix = `${NAME_BASE}${pid}${instance === 0 ? "" : `x${instance}`}`;
    this.bridgeNs = `${this.prefix}br`;
    if (mode === "netns") {
      this.subnet = `10.213.${(pid + instance) % 256}`;
      this.skipReason = undefined;
    } else {
      // 150 * 256 distinct values: unique for pids below 38400 (default pid_max is 32768).
      const seed = (pid + instance * 9973) % (150 * 256);
      this.subnet = `127.${100 + (seed >> 8)}.${seed & 255}`;
      this.skipReason ??= "partition tests need network namespaces (root)";
    }
  }

  get controllerAddr(): string {
    return this.node(0).addr;
  }

  get hostCount(): number {
    return this.nodes.length - 1;
  }

  async init(hosts: number): Promise<void> {
    live.add(this);
    installExitHooks();
    if (this.mode === "netns") {
      // stp is off by default, so a port forwards as soon as it is up (no forward delay).
      await ipBatch(this.bridgeNs, [
        `link add ${this.bridgeNs} type bridge`,
        `link set ${this.bridgeNs} up`,
      ]);
    }
    // Nodes are independent of each other; building them concurrently keeps setup short.
    await Promise.all(Array.from({ length: hosts + 1 }, () => this.addNode()));
  }

  hostAddr(i: number): string {
    return this.node(i).addr;
  }

  async addHost(): Promise<number> {
    this.assertUsable();
    return (await this.addNode()).index;
  }

  argvOn(i: number, argv: string[]): string[] {
    this.assertUsable();
    const node = this.node(i);
    if (argv.length === 0) throw new Error("argvOn: empty argv");
    return this.mode === "netns" ? ["ip", "netns", "exec", node.ns, ...argv] : [...argv];
  }

  spawn(i: number, argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
    this.assertUsable();
    const node = this.node(i);
    const [file, ...fileArgs] = this.argvOn(i, argv);
    if (file === undefined) throw new Error("spawn: empty argv");
    const child = spawn(file, fileArgs, {
      // Own process group: killHost/destroy SIGKILL the whole group, so helpers a process
      // forks die with it.
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
      cwd: opts.cwd,
      // The owner marker lets cleanupLeftovers find strays of a crashed run in loopback
      // mode, where there is no namespace to find them by.
      env: { ...process.env, ...opts.env, [OWNER_ENV]: String(process.pid) },
    });
    node.children.add(child);
    child.once("close", () => node.children.delete(child));
    const tail = { stdout: "", stderr: "" };
    tails.set(child, tail);
    // BERTH_TEST_LOG_DIR=dir keeps every process's whole output there, one file each (the
    // tail above is all a failure message shows): read a flaky run's logs after the fact.
    const logDir = process.env["BERTH_TEST_LOG_DIR"];
    const what = [argv[0] ?? "", argv[2] ?? ""].filter((w) => !w.startsWith("-")).map((w) => (w.split("/").pop() ?? "").replace(/[^a-z0-9]/gi, "")).filter(Boolean).join("-");
    if (logDir) mkdirSync(logDir, { recursive: true });
    const logFile = logDir ? join(logDir, `${Date.now()}-n${i}-${what}-${child.pid}.log`) : undefined;
    const keep = (key: "stdout" | "stderr") => (chunk: Buffer) => {
      tail[key] = (tail[key] + chunk.toString("utf8")).slice(-OUTPUT_TAIL_BYTES);
      if (logFile) appendFileSync(logFile, chunk);
    };
    child.stdout?.on("data", keep("stdout"));
    child.stderr?.on("data", keep("stderr"));
    // A child that dies before reading stdin must not crash the runner with EPIPE.
    child.stdin?.on("error", () => undefined);
    return child;
  }

  run(
    i: number,
    argv: string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const child = this.spawn(i, argv, { env: opts.env, cwd: opts.cwd });
    return new Promise((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
      child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
      const timer = setTimeout(() => {
        killGroup(child);
        reject(
          new Error(
            `run on node ${i} timed out after ${timeoutMs} ms: ${argv.join(" ")}\n` +
              `stdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin?.end(opts.input ?? "");
    });
  }

  async killHost(i: number): Promise<void> {
    this.assertUsable();
    await this.killNode(this.node(i));
  }

  async partition(i: number): Promise<void> {
    await this.setLink(i, "down");
  }

  async partitionOneWay(i: number, drop: "out" | "in"): Promise<void> {
    const node = this.netnsNode(i, "partitionOneWay");
    const [ns, dev] = drop === "out" ? [node.ns, node.ns] : [this.bridgeNs, node.port];
    await tc(["-n", ns, "qdisc", "replace", "dev", dev, "root", "pfifo", "limit", "0"]);
  }

  async heal(i: number): Promise<void> {
    const node = this.netnsNode(i, "partition/heal");
    // Every step, whichever fails: a step left undone would keep the node cut off for the
    // rest of the file. The drops go first, so the carrier wait is the last thing waited on.
    const errors: unknown[] = [];
    for (const [ns, dev] of [
      [node.ns, node.ns],
      [this.bridgeNs, node.port],
    ] as const) {
      // Back to the device's default queue; "no such qdisc" (nothing was dropped that way) is fine.
      await tc(["-n", ns, "qdisc", "del", "dev", dev, "root"]).catch((e: unknown) => {
        if (!/Cannot delete qdisc with handle of zero/.test(String(e))) errors.push(e);
      });
    }
    await this.setLink(i, "up").catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw new AggregateError(errors, `heal(${i}): ${errors.map(String).join("; ")}`);
  }

  destroy(): Promise<void> {
    // Memoized: a second call (afterEach + afterAll, or a hook after a failed test) waits
    // for the same teardown instead of racing it.
    this.destroying ??= this.doDestroy();
    return this.destroying;
  }

  /** Last-resort synchronous teardown from the process 'exit'/signal hooks. */
  destroySync(): void {
    for (const node of this.nodes) for (const child of node.children) killGroup(child);
    if (this.mode === "netns") {
      for (const ns of [...this.nodes.map((n) => n.ns), this.bridgeNs]) {
        try {
          const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", stdio: "pipe" });
          for (const pid of parsePids(pids)) killPid(pid);
          execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
        } catch {
          // Best effort: the next run's cleanupLeftovers() removes whatever remains.
        }
      }
    }
    live.delete(this);
    usedInstances.delete(this.instance);
  }

  private async doDestroy(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (p: Promise<unknown>): Promise<void> => {
      try {
        await p;
      } catch (e) {
        errors.push(e);
      }
    };
    // Processes first: a namespace with processes in it outlives `ip netns del` (only its
    // name goes away), and so would its veth.
    await Promise.all(this.nodes.map((n) => attempt(this.killNode(n))));
    if (this.mode === "netns") {
      const names = [...this.nodes.map((n) => n.ns), this.bridgeNs];
      await Promise.all(names.map((ns) => attempt(ipIgnoringMissing(["netns", "del", ns]))));
      await attempt(waitGone(new Set(names), `namespaces of ${this.prefix} to vanish`));
    }
    live.delete(this);
    usedInstances.delete(this.instance);
    if (errors.length > 0) {
      throw new AggregateError(errors, `destroy of topology ${this.prefix} left something behind`);
    }
  }

  private async addNode(): Promise<NodeState> {
    // The index is taken synchronously so concurrent addNode calls never collide.
    const index = this.nodes.length;
    if (index > MAX_HOSTS) throw new Error(`at most ${MAX_HOSTS} hosts fit in one /24`);
    const ns = index === 0 ? `${this.prefix}c` : `${this.prefix}h${index}`;
    const port = index === 0 ? `${this.prefix}bc` : `${this.prefix}b${index}`;
    for (const name of [ns, port]) {
      if (name.length > IFNAMSIZ) throw new Error(`interface name ${name} exceeds ${IFNAMSIZ} chars`);
    }
    const node: NodeState = { index, addr: `${this.subnet}.${index + 1}`, ns, port, children: new Set() };
    this.nodes.push(node);
    if (this.mode === "loopback") return node;

    await ip(["netns", "add", ns]);
    // Created inside the bridge namespace with the peer placed straight into the node's:
    // neither end ever exists in the root namespace, so a crash mid-setup leaks nothing there.
    await ipBatch(this.bridgeNs, [
      `link add ${port} type veth peer name ${ns} netns ${ns}`,
      `link set ${port} master ${this.bridgeNs} up`,
    ]);
    await ipBatch(ns, ["link set lo up", `addr add ${node.addr}/24 dev ${ns}`, `link set ${ns} up`]);
    await this.waitCarrier(node, true);
    return node;
  }

  /** Node i, when links can be cut (netns mode); `what` names the caller in the error. */
  private netnsNode(i: number, what: string): NodeState {
    this.assertUsable();
    if (this.mode !== "netns") {
      throw new Error(`${what} needs network namespaces (root); this topology runs in loopback mode: ${this.skipReason ?? ""}`);
    }
    return this.node(i);
  }

  private async setLink(i: number, state: "up" | "down"): Promise<void> {
    const node = this.netnsNode(i, "partition/heal");
    // The bridge-side end goes down: the node keeps its address and sockets, exactly like a
    // pulled cable, and its side loses carrier so the kernel stops transmitting.
    await ip(["-n", this.bridgeNs, "link", "set", node.port, state]);
    await this.waitCarrier(node, state === "up");
  }

  /** Poll until the node-side veth shows (or lost) carrier; `ip link set` returns before that is certain. */
  private async waitCarrier(node: NodeState, up: boolean): Promise<void> {
    await waitFor(
      async () => {
        const out = await ip(["-n", node.ns, "-o", "link", "show", "dev", node.ns]);
        const hasCarrier = /[<,]LOWER_UP[,>]/.test(out) && !/NO-CARRIER/.test(out);
        return hasCarrier === up || undefined;
      },
      { timeoutMs: IP_TIMEOUT_MS, intervalMs: 10, what: `carrier ${up ? "up" : "down"} on ${node.ns}` },
    );
  }

  private async killNode(node: NodeState): Promise<void> {
    for (const child of node.children) killGroup(child);
    if (this.mode === "netns") await killNamespaceProcesses(node.ns);
    // Wait for 'exit' so callers can assert on signalCode right after killHost resolves.
    await waitFor(
      () => [...node.children].every(exited) || undefined,
      { timeoutMs: KILL_TIMEOUT_MS, intervalMs: 10, what: `processes on node ${node.index} to exit` },
    );
  }

  private node(i: number): NodeState {
    const node = this.nodes[i];
    if (!Number.isInteger(i) || node === undefined) {
      throw new Error(`no node ${i} in topology ${this.prefix} (controller 0, hosts 1..${this.hostCount})`);
    }
    return node;
  }

  private assertUsable(): void {
    if (this.destroying) throw new Error(`topology ${this.prefix} is destroyed`);
  }
}

// ---------------------------------------------------------------------------------------
// helpers

function parseModeEnv(v: string | undefined): "auto" | "netns" | "loopback" {
  if (v === undefined || v === "" || v === "auto") return "auto";
  if (v === "netns" || v === "loopback") return v;
  throw new Error(`BERTH_TOPOLOGY must be auto, netns or loopback, got ${v}`);
}

/** Lowest instance number not used by this process's live topologies nor by leftover namespaces. */
async function allocateInstance(mode: "netns" | "loopback"): Promise<number> {
  const leftover = new Set<number>();
  if (mode === "netns") {
    // Namespaces of our own pid that outlived their topology (a module instance that was
    // re-evaluated without destroy) would clash by name; skip past them.
    for (const name of await listNamespaces().catch(() => [])) {
      const m = NAME_RE.exec(name);
      if (m && Number(m[1]) === process.pid) leftover.add(Number(m[2] ?? 0));
    }
  }
  // Synchronous from here on (usedInstances read after the await), so two concurrent
  // createTopology calls never pick the same number.
  let n = 0;
  while (usedInstances.has(n) || leftover.has(n)) n++;
  usedInstances.add(n);
  return n;
}

let hooksInstalled = false;

/** Best effort: tear down on normal exit, process.exit() and SIGINT/SIGTERM. SIGKILL is left to cleanupLeftovers(). */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const teardown = (): void => {
    for (const t of [...live]) t.destroySync();
  };
  process.on("exit", teardown);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      teardown();
      // Having a listener disables the default action; re-raise so the signal still
      // terminates the process unless someone else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

function ownerPid(name: string): number | undefined {
  const m = NAME_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, it just is not ours.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function exited(child: ChildProcess): boolean {
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // ESRCH: the whole group is gone already.
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // ESRCH: already gone.
  }
}

function parsePids(out: string): number[] {
  return out
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** SIGKILL everything in a namespace until `ip netns pids` is empty (a dying process may still fork). */
async function killNamespaceProcesses(ns: string): Promise<void> {
  await waitFor(
    async () => {
      let out: string;
      try {
        out = await ip(["netns", "pids", ns]);
      } catch (e) {
        if (isMissing(e)) return true; // namespace already gone: nothing runs there
        throw e;
      }
      const pids = parsePids(out);
      for (const pid of pids) killPid(pid);
      return pids.length === 0 || undefined;
    },
    { timeoutMs: KILL_TIMEOUT_MS, intervalMs: 10, what: `processes in namespace ${ns} to die` },
  );
}

/** Stray processes of dead runs, found by the OWNER_ENV marker every spawned process carries. */
async function killOrphans(): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return; // not Linux
  }
  const needle = `\0${OWNER_ENV}=`;
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        let env: string;
        try {
          env = "\0" + (await readFile(`/proc/${e}/environ`, "latin1"));
        } catch {
          return; // gone, or not ours to read
        }
        const at = env.indexOf(needle);
        if (at < 0) return;
        const end = env.indexOf("\0", at + 1);
        const owner = Number(env.slice(at + needle.length, end < 0 ? undefined : end));
        const pid = Number(e);
        // Never ourselves or our parent: a runner started from a harness-spawned shell
        // inherits the marker too.
        if (pid === process.pid || pid === process.ppid) return;
        if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) killPid(pid);
      }),
  );
}

async function listNamespaces(): Promise<string[]> {
  // Lines look like "bt123c (id: 3)" or just "bt123c".
  const out = await ip(["netns", "list"]);
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n !== "");
}

async function listRootLinks(): Promise<string[]> {
  // Lines look like "7: name@if6: <...> ..."; the peer suffix is not part of the name.
  const out = await ip(["-o", "link", "show"]);
  return out
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? "")
    .filter((n) => n !== "");
}

/** Poll until none of `names` is a namespace or a root-namespace link any more. */
async function waitGone(names: ReadonlySet<string>, what: string): Promise<void> {
  await waitFor(
    async () => {
      const [ns, links] = await Promise.all([listNamespaces(), listRootLinks()]);
      const left = [...ns, ...links].filter((n) => names.has(n));
      // Thrown rather than returned so a timeout names what is still there.
      if (left.length > 0) throw new Error(`still present: ${left.join(", ")}`);
      return true;
    },
    { timeoutMs: IP_TIMEOUT_MS, intervalMs: 20, what },
  );
}

function isMissing(e: unknown): boolean {
  const text = errorText(e);
  return /No such file|Cannot find device|does not exist|Invalid "netns" value|Cannot open network namespace/i.test(text);
}

async function ipIgnoringMissing(args: string[]): Promise<void> {
  try {
    await ip(args);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

/** `tc …`; rejects with its stderr. */
function tc(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("tc", args, { timeout: IP_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`tc ${args.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** Several `ip` commands in one namespace with one process (`ip -n ns -batch -`). */
async function ipBatch(ns: string, commands: string[]): Promise<void> {
  await ip(["-n", ns, "-batch", "-"], commands.join("\n") + "\n");
}

function ip(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.stdin.on("error", () => undefined);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ip ${args.join(" ")}: no answer within ${IP_TIMEOUT_MS} ms`));
    }, IP_TIMEOUT_MS);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`ip ${args.join(" ")} failed (${code ?? signal}): ${stderr.trim()}`));
    });
    child.stdin.end(input ?? "");
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
