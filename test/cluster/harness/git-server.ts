/**
 * The GitOps tests' git: a bare repository with a work tree to commit from, and
 * git-http.mjs serving it on a node of the topology. One place for what every
 * gitops test set up alike; the server's stall control (hold a fetch in flight)
 * is the one git-http.mjs has: commands on its stdin, each acknowledged.
 */
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./cluster.js";
import { SVC } from "./specs.js";
import type { Topology } from "./topology.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);

/** git with no user or system config: the machine's own cannot change what a test does. */
export const gitEnv = (): NodeJS.ProcessEnv => ({ ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" });

export interface FleetRepo {
  /** The folder git-http.mjs serves: the bare repository is `<root>/<name>.git`. */
  root: string;
  bare: string;
  /** A clone to commit in; the fixture service's folder is copied to `app/` in it (not committed yet). */
  work: string;
  /** git -C work …, its stdout trimmed. */
  git(...args: string[]): Promise<string>;
  /** Writes (or with null deletes) files in the work tree, commits (as `author`, if given) and pushes; returns the commit. */
  commit(files: Record<string, string | null>, message: string, o?: { author?: string }): Promise<string>;
}

/** A bare repository `<dir>/git/<name>.git` on branch main and a clone of it at `<dir>/work`. */
export async function fleetRepo(dir: string, name = "fleet"): Promise<FleetRepo> {
  const root = join(dir, "git");
  const bare = join(root, `${name}.git`);
  const work = join(dir, "work");
  await mkdir(root, { recursive: true });
  await run("git", ["init", "-q", "--bare", "-b", "main", bare]);
  await run("git", ["clone", "-q", bare, work], { env: gitEnv() });
  await cp(SVC, join(work, "app"), { recursive: true });
  const git = async (...args: string[]): Promise<string> => (await run("git", ["-C", work, ...args], { env: gitEnv() })).stdout.trim();
  return {
    root,
    bare,
    work,
    git,
    async commit(files, message, o = {}) {
      for (const [f, text] of Object.entries(files)) {
        if (text === null) await rm(join(work, f), { force: true });
        else {
          await mkdir(dirname(join(work, f)), { recursive: true });
          await writeFile(join(work, f), text);
        }
      }
      await git("add", "-A");
      await git("-c", "user.name=berth test", "-c", "user.email=test@example.org", "commit", "-q", ...(o.author ? ["--author", o.author] : []), "-m", message);
      await git("push", "-q", "origin", "HEAD:main");
      return git("rev-parse", "HEAD");
    },
  };
}

export interface GitServer {
  proc: ChildProcess;
  /** Every line it printed so far. */
  lines: string[];
  /** Waits for the n-th `line` it printed (counting from its start). */
  said(line: string, n: number, what: string, timeoutMs?: number): Promise<void>;
  /**
   * Holds every later fetch (POST to git-upload-pack) of repository `repo` (say
   * "fleet"; default every repository) before git sees it; each held one prints
   * "stalled". Resolves once the server has taken the command.
   */
  stall(repo?: string): Promise<void>;
  /** Lets the held fetches and every later one through. */
  release(): Promise<void>;
  /** Releases what it holds and ends it (SIGTERM). */
  stop(): void;
}

/**
 * git-http.mjs serving `root` on `addr:port` from node `node` of `topo`, once it
 * listens. `env`: its options (GIT_HTTP_TLS_CERT, GIT_HTTP_TLS_KEY, GIT_HTTP_USERS).
 */
export async function startGitServer(topo: Topology, o: { node?: number; addr: string; port: number; root: string; env?: NodeJS.ProcessEnv }): Promise<GitServer> {
  const proc = topo.spawn(o.node ?? 0, [process.execPath, resolve(ROOT, "test/cluster/harness/git-http.mjs"), o.addr, String(o.port), o.root], o.env ? { env: { ...process.env, ...o.env } } : undefined);
  const lines: string[] = [];
  let partial = "";
  proc.stdout?.on("data", (b: Buffer) => {
    const got = (partial + b.toString()).split("\n");
    partial = got.pop() ?? "";
    lines.push(...got.map((l) => l.trim()));
  });
  let exit: string | undefined;
  proc.once("exit", (code, signal) => (exit = `git server exited ${code ?? signal}`));
  const said = async (line: string, n: number, what: string, timeoutMs = 60_000): Promise<void> => {
    await waitFor(
      () => {
        if (exit) throw new Error(exit);
        return lines.filter((l) => l === line).length >= n;
      },
      { timeoutMs, intervalMs: 50, what },
    );
  };
  const tell = async (cmd: string, ack: string): Promise<void> => {
    const n = lines.filter((l) => l === ack).length + 1;
    proc.stdin?.write(`${cmd}\n`);
    await said(ack, n, `the git server to answer ${cmd}`, 10_000);
  };
  await said("listening", 1, "the git server to listen", 30_000);
  return {
    proc,
    lines,
    said,
    stall: (repo) => tell(repo ? `stall ${repo}` : "stall", "stalling"),
    release: () => tell("release", "released"),
    stop() {
      proc.stdin?.write("release\n");
      proc.kill("SIGTERM");
    },
  };
}
