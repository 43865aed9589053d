/**
 * What both harnesses (cluster.ts: one controller; group.ts: a controller group)
 * do with their processes: start an agent on a host's node, stop a process and
 * wait for its exit, kill one outright. One copy, so a flag an agent gains or a
 * stop that must wait is changed in one place.
 */
import type { ChildProcess } from "node:child_process";
import { readdir, readlink, realpath } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import type { Topology } from "./topology.js";
import { waitFor } from "./wait.js";

export const ROOT = resolve(import.meta.dirname, "..", "..", "..");
export const BERTH_MAIN = join(ROOT, "dist", "cli", "main.js");
/**
 * The `berth` bin as users run it (cli/launcher.sh): operator commands from the
 * start-up snapshot when the build made one for this Node, else main.js. Run as
 * an executable (it finds `node` on PATH), not through process.execPath.
 */
export const BERTH_BIN = join(ROOT, "dist", "cli", "berth");

export interface AgentLaunch {
  /** --controller: one address, or every member of a group. */
  controllers: string;
  dataDir: string;
  /** --metrics-addr: HOST:PORT, or "off". */
  metricsAddr: string;
  /** @default dc=dc1 for odd hosts, dc=dc2 for even ones */
  labels?: string;
  /** The join token, given as `berth dev` and the systemd unit do: in the environment, never in argv. */
  token?: string;
  allowRoot?: boolean;
  extraArgs?: string[];
  /** The topology node it runs on. @default i (a group with etcd beside its controllers puts hosts after them) */
  node?: number;
}

/** Starts host i's agent on its node. */
/** A command that runs on (a follow: `logs -f`, `events -f`), its output gathered as it comes. */
export interface Followed {
  proc: ChildProcess;
  out(): string;
  err(): string;
  /** undefined while it runs. */
  exited(): number | null | undefined;
}

/** Starts `argv` on node `node` (the CLI on node 0, say) and gathers what it prints. The caller kills it. */
export function follow(topo: Topology, node: number, argv: string[], env: NodeJS.ProcessEnv): Followed {
  const proc = topo.spawn(node, argv, { env });
  let out = "";
  let err = "";
  let code: number | null | undefined;
  proc.stdout!.on("data", (b: Buffer) => (out += b.toString("utf8")));
  proc.stderr!.on("data", (b: Buffer) => (err += b.toString("utf8")));
  proc.on("exit", (c) => (code = c));
  return { proc, out: () => out, err: () => err, exited: () => code };
}

export function spawnAgent(topo: Topology, i: number, o: AgentLaunch): ChildProcess {
  const args = [
    process.execPath, BERTH_MAIN, "agent",
    "--controller", o.controllers,
    "--data-dir", o.dataDir,
    "--advertise-addr", topo.hostAddr(o.node ?? i),
    "--metrics-addr", o.metricsAddr,
    "--labels", o.labels ?? `dc=dc${((i - 1) % 2) + 1}`,
    ...(o.allowRoot ? ["--allow-root"] : []),
    ...(o.extraArgs ?? []),
  ];
  return topo.spawn(o.node ?? i, args, o.token ? { env: { BERTH_JOIN_TOKEN: o.token } } : {});
}

const running = (p: ChildProcess | undefined): p is ChildProcess & { pid: number } => p !== undefined && p.exitCode === null && p.signalCode === null && p.pid !== undefined;

/** Kills processes a test may have stopped (SIGSTOP): SIGCONT, then SIGKILL; those gone already are skipped. Empties `ps`. */
export function killStopped(ps: ChildProcess[]): void {
  for (const p of ps.splice(0)) {
    try {
      process.kill(p.pid!, "SIGCONT");
      process.kill(p.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** SIGTERM (a clean stop) and wait for the exit; with killAfterMs, SIGKILL if it has not exited by then. */
export async function terminate(p: ChildProcess | undefined, o: { killAfterMs?: number } = {}): Promise<void> {
  if (!running(p)) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  const t = o.killAfterMs === undefined ? undefined : setTimeout(() => p.kill("SIGKILL"), o.killAfterMs);
  await exited;
  clearTimeout(t);
}

/** SIGKILL of the process's group: nothing is flushed, nothing is said goodbye; other processes on its node live on. */
export async function killProcessGroup(p: ChildProcess | undefined): Promise<void> {
  if (!running(p)) return;
  const exited = new Promise((r) => p.once("exit", r));
  process.kill(-p.pid, "SIGKILL");
  await exited;
}

/** pids of the processes whose working directory is `dir` or under it (unreadable ones skipped). */
async function processesUnder(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => undefined);
    if (cwd !== undefined && (cwd === dir || cwd.startsWith(dir + sep))) found.push(Number(name));
  }
  return found;
}

/**
 * SIGKILLs every process working under `dir` (a fleet's temp dir) and waits until none is left.
 * A service runs in a session of its own, so an agent's death leaves it running, as it should
 * on a real host (an agent restarts without its services); on the loopback topology no network
 * namespace gathers them for the kill, so a fleet's teardown finds them by their folder: every
 * service runs in its artifact's folder under the fleet's dir. Call it after the agents are
 * gone (else one would start a copy again) and before the dir is removed.
 */
export async function killProcessesUnder(dir: string, timeoutMs = 10_000): Promise<void> {
  const root = await realpath(dir).catch(() => undefined);
  if (root === undefined) return;
  await waitFor(
    async () => {
      const left = await processesUnder(root);
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone already.
        }
      }
      return left.length === 0;
    },
    { timeoutMs, intervalMs: 20, what: `the processes working under ${root} to exit` },
  );
}
