/**
 * The git client of GitOps: Debian's `git` binary, one bare mirror per source in
 * the controller's data dir (`<data-dir>/gitops/<name>.git`), fetched
 * incrementally — a poll moves only the objects of new commits, never a whole
 * clone. Why the binary rather than isomorphic-git: it speaks every transport and
 * auth a git server offers (smart HTTP v2, SSH with deploy keys, shallow and
 * partial fetch), packs and deltas in C rather than in the controller's event
 * loop, and is what Gitea and GitHub are tested against.
 *
 * Credentials never reach argv, the mirror's config or a log: basic auth goes in
 * through GIT_CONFIG_* environment variables (http.extraHeader), a deploy key
 * through a 0600 file that exists only while git runs. Git runs with no system or
 * user config, no prompts, and only the https, http and ssh transports.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, rm, writeFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { extract as tarExtract } from "tar";
import { setTimeoutClamped } from "../../shared/timer.js";

/** A git command failed: what it said, credentials scrubbed. */
export class GitError extends Error {
  override name = "GitError";
}

export type GitAuth = { kind: "none" } | { kind: "basic"; username: string; password: string } | { kind: "ssh"; key: Buffer };

/** @default 2 min: a fetch that hangs (a dead server) must not hold the source's sync forever. */
export const GIT_TIMEOUT_MS = 120_000;
const MAX_OUTPUT = 64 * 1024;

export interface CommitMeta {
  author: string;
  subject: string;
}

/**
 * Modes as a checkout has them: git keeps only 644 and 755, and the controller's
 * umask (077) would narrow them to 600/700 — then an artifact packed from here
 * would not have the digest `berth apply` of a checkout of the same commit gets.
 */
async function gitModes(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) continue;
    if (e.isDirectory()) {
      await chmod(p, 0o755);
      await gitModes(p);
    } else if (e.isFile()) await chmod(p, (await stat(p)).mode & 0o100 ? 0o755 : 0o644);
  }
}

export class Mirror {
  readonly dir: string;

  constructor(
    root: string,
    readonly name: string,
  ) {
    this.dir = join(root, `${name}.git`);
  }

  private async run(args: string[], o: { auth?: GitAuth; timeoutMs?: number; secrets?: string[] } = {}): Promise<string> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: this.dir,
      LC_ALL: "C",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      GIT_ASKPASS: "/bin/false",
      SSH_ASKPASS: "/bin/false",
      GIT_ALLOW_PROTOCOL: "https:http:ssh",
    };
    const scrub: string[] = [...(o.secrets ?? [])];
    let keyFile: string | undefined;
    const a = o.auth ?? { kind: "none" };
    if (a.kind === "basic") {
      const b64 = Buffer.from(`${a.username}:${a.password}`).toString("base64");
      Object.assign(env, { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "http.extraHeader", GIT_CONFIG_VALUE_0: `Authorization: Basic ${b64}` });
      scrub.push(b64, a.password);
    } else if (a.kind === "ssh") {
      keyFile = join(this.dir, `.deploy-key-${randomBytes(6).toString("hex")}`);
      await writeFile(keyFile, a.key, { mode: 0o600 });
      const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
      env.GIT_SSH_COMMAND = `ssh -i ${q(keyFile)} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${q(join(this.dir, "known_hosts"))}`;
    }
    try {
      return await new Promise<string>((resolve, reject) => {
        const p = spawn("git", args, { cwd: this.dir, env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        p.stdout.on("data", (c: Buffer) => void (out.length < MAX_OUTPUT && (out += c.toString())));
        p.stderr.on("data", (c: Buffer) => void (err.length < MAX_OUTPUT && (err += c.toString())));
        const timer = setTimeoutClamped(() => p.kill("SIGKILL"), o.timeoutMs ?? GIT_TIMEOUT_MS);
        p.on("error", (e) => {
          clearTimeout(timer);
          reject(new GitError(`git: ${e.message}`));
        });
        p.on("close", (code, signal) => {
          clearTimeout(timer);
          if (code === 0) return resolve(out);
          let text = err.trim().split("\n").slice(-4).join("; ") || `exited ${code ?? signal}`;
          for (const s of scrub) if (s) text = text.split(s).join("***");
          reject(new GitError(signal ? `git ${args[0]} timed out` : `git ${args[0]}: ${text}`));
        });
      });
    } finally {
      if (keyFile) await rm(keyFile, { force: true });
    }
  }

  /** Fetches the branch into the mirror (made on first use) and returns its commit. */
  async fetch(url: string, branch: string, auth: GitAuth): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const isRepo = await stat(join(this.dir, "HEAD")).then(
      () => true,
      () => false,
    );
    if (!isRepo) await this.run(["init", "--bare", "--quiet"]);
    // The URL is given each time, never stored in the mirror's config: a changed source takes effect at once.
    await this.run(["fetch", "--quiet", "--no-tags", "--prune", url, `+refs/heads/${branch}:refs/heads/${branch}`], { auth });
    return (await this.run(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`])).trim();
  }

  async meta(commit: string): Promise<CommitMeta> {
    const out = await this.run(["log", "-1", "--format=%an <%ae>%x1f%s", commit]);
    const [author = "", subject = ""] = out.trim().split("\x1f");
    return { author: author.slice(0, 256), subject: subject.slice(0, 256) };
  }

  /** Writes the tree of `commit` under `path` (relative; "" for the root) into `into`, as it is in the repository. */
  async extract(commit: string, path: string, into: string): Promise<void> {
    await mkdir(into, { recursive: true, mode: 0o700 });
    const args = ["archive", "--format=tar", commit, ...(path ? ["--", path] : [])];
    const p = spawn("git", args, { cwd: this.dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: this.dir, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    p.stderr.on("data", (c: Buffer) => void (err.length < MAX_OUTPUT && (err += c.toString())));
    const exited = new Promise<number | null>((resolve) => p.on("close", resolve));
    // node-tar refuses absolute paths and .. entries by default; symlinks are checked by the tree loader.
    await pipeline(p.stdout, tarExtract({ cwd: into, strict: true })).catch(() => undefined);
    const code = await exited;
    if (code !== 0) {
      const text = err.trim().split("\n").slice(-2).join("; ");
      throw new GitError(/did not match any files/.test(text) ? `path ${path || "."}: not in commit ${commit.slice(0, 12)}` : `git archive: ${text || `exited ${code}`}`);
    }
    await gitModes(into);
  }
}
