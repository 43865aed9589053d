/**
 * The git client of GitOps: Debian's `git` binary, one bare mirror per source in
 * the controller's data dir (`<data-dir>/gitops/<name>.git`), fetched
 * incrementally — a poll moves only the objects of new commits, never a whole
 * clone. Why the binary rather than isomorphic-git: it speaks every transport and
 * auth a git server offers (smart HTTP v2, SSH with deploy keys, shallow and
 * partial fetch), packs and deltas in C rather than in the controller's event
 * loop, and is what Gitea and GitHub are tested against.
 *
 * Credentials never reach argv, the mirror's config or a log. HTTPS: a credential
 * helper given through GIT_CONFIG_* environment variables answers git's 401
 * challenge with the username and password git's own environment holds (so a
 * refused credential is git's "Authentication failed", not a prompt that could not
 * be shown). SSH: a deploy key through a 0600 file that exists only while git runs,
 * strict host key checking against the source's known_hosts only, no user or
 * system ssh config. Git runs with no system or user config, no prompts, and only
 * the https, http and ssh transports (a source with a credential: only its own, https or ssh). Its failures are put in words an operator
 * acts on (explainGitError): authentication, host key, TLS trust.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, rm, writeFile, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { extract as tarExtract } from "tar";
import { setTimeoutClamped } from "../../shared/timer.js";

/** A git command failed: what it said, credentials scrubbed. */
export class GitError extends Error {
  override name = "GitError";
}

/**
 * How a fetch authenticates. `what` names the credential for error messages (the
 * secret's name and user, never its value).
 */
export type GitAuth = { kind: "none" } | { kind: "basic"; username: string; password: string; what: string } | { kind: "ssh"; key: Buffer; knownHosts: string; what: string };

/** Trust for HTTPS beyond the system's CAs: PEM certificates (a private Gitea's CA). */
export interface GitTls {
  caPem: string;
}

/**
 * git's credential helper protocol, answered from git's environment: `get` prints
 * the username and password, `store` and `erase` do nothing. Shell text with no
 * value in it: the values are expanded by the shell from the environment, never
 * passed as arguments. It answers only when git asks for the source's own host
 * (BERTH_GIT_HOST) over https: a server that redirects elsewhere — another host, or
 * plain http — gets nothing (git would send the credential wherever it is redirected,
 * and the helper used to answer any question).
 */
const CREDENTIAL_HELPER = `!f() { test "$1" = get || exit 0; p=; h=; while IFS= read -r l; do case "$l" in protocol=https) p=1 ;; host=*) test "\${l#host=}" = "$BERTH_GIT_HOST" && h=1 ;; esac; done; test "$p$h" = 11 || exit 0; printf 'username=%s\\npassword=%s\\n' "$BERTH_GIT_USERNAME" "$BERTH_GIT_PASSWORD"; }; f`;

/** The host (and port, as written) of an https URL, as git names it to a credential helper; "" for any other URL. */
export function credentialHost(url: string): string {
  return /^https:\/\/(?:[^@/?#]*@)?([^/?#]+)/i.exec(url)?.[1] ?? "";
}

/**
 * git's failure (its stderr) in words an operator acts on, naming the URL and the
 * credential by name; undefined when it is none of the known causes.
 */
export function explainGitError(stderr: string, url: string, what = ""): string | undefined {
  const by = what ? ` (${what})` : "";
  if (/Authentication failed for/.test(stderr)) return `authentication failed: ${url} refused the credentials${by}`;
  const moved = what ? redirectedTo(stderr, url) : undefined;
  if (moved !== undefined)
    return `authentication: ${url} redirected to ${moved}; the source's credentials${by} go only to ${credentialHost(url) || url} over https, so nothing was fetched (if the repository has moved, give the source its new URL)`;
  if (/could not read (Username|Password) for/.test(stderr)) return `authentication failed: ${url} asks for credentials and the source has none (--token-secret, or --username with --password-secret)`;
  if (/The requested URL returned error: 403/.test(stderr)) return `authentication failed: ${url} denied access (HTTP 403)${by}: the credentials are not allowed to read this repository`;
  if (/Permission denied \(publickey/.test(stderr)) return `authentication failed: ${url} refused the deploy key${by}`;
  const fp = /(SHA256:[A-Za-z0-9+/=]+)/.exec(stderr)?.[1];
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/.test(stderr))
    return `host key verification failed: ${url} presented a host key${fp ? ` (${fp})` : ""} that is not the one in the source's known_hosts; nothing was fetched`;
  const unknown = /No (\S+) host key is known for (\S+)/.exec(stderr);
  if (unknown) return `host key verification failed: the source's known_hosts has no ${unknown[1]} key for ${unknown[2]} (${url}); nothing was fetched`;
  if (/Host key verification failed/.test(stderr)) return `host key verification failed for ${url}: the source's known_hosts does not match; nothing was fetched`;
  if (/server certificate verification failed|SSL certificate problem|certificate verify failed/.test(stderr))
    return `TLS: the certificate of ${url} is not trusted (the system's CAs${/CAfile: none/.test(stderr) ? "" : " and --ca-file"} do not vouch for it): give its CA with --ca-file`;
  return undefined;
}

/**
 * Where a server redirected a fetch that carries a credential, when that is why it failed:
 * git asked for a credential for another host (which the helper keeps back), or curl refused
 * to follow to plain http (GIT_ALLOW_PROTOCOL). Undefined for any other failure.
 */
function redirectedTo(stderr: string, url: string): string | undefined {
  const asked = /could not read (?:Username|Password) for '([^']*)'/.exec(stderr)?.[1];
  if (asked !== undefined && credentialHost(asked) !== credentialHost(url)) return asked;
  if (url.startsWith("https:") && /Protocol "?http"? not supported or disabled/.test(stderr)) return "plain http";
  return undefined;
}

/** @default 2 min: a fetch that hangs (a dead server) must not hold the source's sync forever. */
export const GIT_TIMEOUT_MS = 120_000;
const MAX_OUTPUT = 64 * 1024;
/** The files a fetch writes for git and removes after it (`tmp` in Mirror.run). */
const TEMP_FILE = /^\.(deploy-key|known-hosts|ca)-[0-9a-f]{12}$/;

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
    private readonly opts: { /** @default GIT_TIMEOUT_MS */ timeoutMs?: number } = {},
  ) {
    this.dir = join(root, `${name}.git`);
  }

  private async run(args: string[], o: { auth?: GitAuth; tls?: GitTls; url?: string; timeoutMs?: number; secrets?: string[] } = {}): Promise<string> {
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
    const a = o.auth ?? { kind: "none" };
    // A credential goes over its own transport only: curl follows a redirect only to an allowed protocol.
    if (a.kind === "basic") env.GIT_ALLOW_PROTOCOL = "https";
    else if (a.kind === "ssh") env.GIT_ALLOW_PROTOCOL = "ssh";
    const scrub: string[] = [...(o.secrets ?? [])];
    const files: string[] = [];
    const config: [string, string][] = [];
    const tmp = (what: "deploy-key" | "known-hosts" | "ca"): string => join(this.dir, `.${what}-${randomBytes(6).toString("hex")}`);
    if (a.kind === "basic") {
      config.push(["credential.helper", CREDENTIAL_HELPER]);
      Object.assign(env, { BERTH_GIT_USERNAME: a.username, BERTH_GIT_PASSWORD: a.password, BERTH_GIT_HOST: credentialHost(o.url ?? "") });
      scrub.push(a.password, Buffer.from(`${a.username}:${a.password}`).toString("base64"));
    } else if (a.kind === "ssh") {
      const keyFile = tmp("deploy-key");
      const knownHosts = tmp("known-hosts");
      files.push(keyFile, knownHosts);
      await writeFile(keyFile, a.key, { mode: 0o600 });
      await writeFile(knownHosts, a.knownHosts, { mode: 0o600 });
      const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
      // -F /dev/null: no user or system ssh config (the controller's own keys, hosts or proxies never apply).
      env.GIT_SSH_COMMAND = `ssh -F /dev/null -i ${q(keyFile)} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${q(knownHosts)} -o GlobalKnownHostsFile=/dev/null`;
    }
    if (o.tls?.caPem) {
      const caFile = tmp("ca");
      files.push(caFile);
      await writeFile(caFile, o.tls.caPem, { mode: 0o600 });
      config.push(["http.sslCAInfo", caFile]);
    }
    if (config.length) {
      env.GIT_CONFIG_COUNT = String(config.length);
      config.forEach(([k, v], i) => Object.assign(env, { [`GIT_CONFIG_KEY_${i}`]: k, [`GIT_CONFIG_VALUE_${i}`]: v }));
    }
    try {
      return await new Promise<string>((resolve, reject) => {
        // A process group of its own: git's transport (git-remote-https, ssh) holds the
        // pipes too, so killing git alone on a timeout would leave the fetch waiting on
        // a hung server for ever — and the source never syncing again.
        const p = spawn("git", args, { cwd: this.dir, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
        let out = "";
        let err = "";
        p.stdout.on("data", (c: Buffer) => void (out.length < MAX_OUTPUT && (out += c.toString())));
        p.stderr.on("data", (c: Buffer) => void (err.length < MAX_OUTPUT && (err += c.toString())));
        const timer = setTimeoutClamped(() => {
          try {
            if (p.pid !== undefined) process.kill(-p.pid, "SIGKILL");
          } catch {
            p.kill("SIGKILL");
          }
        }, o.timeoutMs ?? this.opts.timeoutMs ?? GIT_TIMEOUT_MS);
        p.on("error", (e) => {
          clearTimeout(timer);
          reject(new GitError(`git: ${e.message}`));
        });
        p.on("close", (code, signal) => {
          clearTimeout(timer);
          if (code === 0) return resolve(out);
          let text = (o.url !== undefined ? explainGitError(err, o.url, a.kind === "none" ? "" : a.what) : undefined) ?? `git ${args[0]}: ${err.trim().split("\n").slice(-4).join("; ") || `exited ${code ?? signal}`}`;
          for (const s of scrub) if (s) text = text.split(s).join("***");
          reject(new GitError(signal ? `git ${args[0]} timed out` : text));
        });
      });
    } finally {
      await Promise.all(files.map((f) => rm(f, { force: true })));
    }
  }

  /** Fetches the branch into the mirror (made on first use) and returns its commit. */
  async fetch(url: string, branch: string, auth: GitAuth, tls?: GitTls): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const isRepo = await stat(join(this.dir, "HEAD")).then(
      () => true,
      () => false,
    );
    if (!isRepo) await this.run(["init", "--bare", "--quiet"]);
    // A controller killed mid-fetch leaves its deploy key (and known_hosts, CA) behind: gone before anything else runs.
    for (const f of await readdir(this.dir)) if (TEMP_FILE.test(f)) await rm(join(this.dir, f), { force: true });
    // The URL is given each time, never stored in the mirror's config: a changed source takes effect at once.
    await this.run(["fetch", "--quiet", "--no-tags", "--prune", url, `+refs/heads/${branch}:refs/heads/${branch}`], { auth, tls, url });
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
    // Not strict: an entry node-tar will not write (an absolute path, a `..`) is skipped with a
    // warning and the rest is written to the end, so the extract is over when this returns — in strict
    // mode the first such entry rejected at once while writes were still under way, and the
    // caller read a partial tree and removed it under node-tar's feet. Every warning is the commit's
    // fault, reported as such. An absolute symlink target would be rewritten ("/etc/x" → "etc/x"):
    // it is refused here instead. Relative symlinks are checked by the tree loader.
    const problems: string[] = [];
    const unpack = tarExtract({
      cwd: into,
      strict: false,
      filter: (entryPath, entry) => {
        if (!("type" in entry) || entry.type !== "SymbolicLink") return true;
        const link = String(entry.linkpath ?? "");
        if (!isAbsolute(link)) return true;
        problems.push(`${entryPath}: a symlink to ${link}, outside the repository`);
        return false;
      },
      onwarn: (_code, message, data) => void problems.push(`${String((data as { path?: unknown }).path ?? (data as { entry?: { path?: unknown } }).entry?.path ?? "?")}: ${message}`),
    });
    let unpacked: Error | undefined;
    await pipeline(p.stdout, unpack).catch((e: unknown) => {
      unpacked = e instanceof Error ? e : new Error(String(e));
      p.kill("SIGKILL");
    });
    const code = await exited;
    if (code !== 0 && !unpacked) {
      const text = err.trim().split("\n").slice(-2).join("; ");
      throw new GitError(/did not match any files/.test(text) ? `path ${path || "."}: not in commit ${commit.slice(0, 12)}` : `git archive: ${text || `exited ${code}`}`);
    }
    if (unpacked) throw new GitError(`commit ${commit.slice(0, 12)} could not be unpacked: ${unpacked.message}`);
    if (problems.length > 0) throw new GitError(`commit ${commit.slice(0, 12)} has entries berth will not unpack: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? `; and ${problems.length - 5} more` : ""}`);
    await gitModes(into);
  }
}
