/**
 * GitOps authentication against real servers (issue 14): HTTPS with a token and
 * with basic auth (the test's `git http-backend` behind TLS of its own CA, asking
 * for credentials with 401 and `WWW-Authenticate: Basic` as GitHub and Gitea do),
 * and SSH with a deploy key (Debian's sshd, started here on its own port with its
 * own host key, config and authorized_keys — never the system service). A source
 * with the right credential syncs; a wrong one says what failed, naming the source
 * and URL and never the secret, which appears in no log, event, status, and no
 * process's argv while git runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readFile, rmdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ChildProcess } from "node:child_process";
import { Cluster } from "./harness/cluster.js";
import { fleetRepo, startGitServer, type GitServer } from "./harness/git-server.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";

const run = promisify(execFile);
const HTTPS_PORT = 9481;
const SSH_PORT = 9482;

const TOKEN = "ghp-token-0123456789abcdef";
const PASSWORD = "alice-password-s3cret";
const WRONG = "not-alices-password-xyz";

interface SourceJson {
  source: { known_hosts: string; ca_pem: string };
  last_applied: { commit: string } | null;
  head: string;
  fetch_error: string;
}

const spec = (name: string): string => svcSpec(name, { health: false }).replace(`artifact: ${SVC}`, "artifact: ../app");

describe("gitops authentication", () => {
  let c: Cluster;
  let https: GitServer | undefined;
  let sshd: ChildProcess | undefined;
  let madeRunSshd = false;
  let d = "";
  let root = "";
  let head = "";
  let sshKeyLines: string[] = [];

  const f = (name: string): string => join(d, name);
  const source = (name: string): Promise<SourceJson> => c.cliJson<SourceJson>(["gitops", "status", name]);
  const waitSource = (name: string, pred: (s: SourceJson) => boolean, what: string, timeoutMs = 30_000): Promise<SourceJson> =>
    waitFor(async () => {
      const s = await source(name);
      return pred(s) ? s : undefined;
    }, { timeoutMs, intervalMs: 250, what });
  const add = async (args: string[]): Promise<void> => {
    const r = await c.cli(["gitops", "add", ...args, "--interval", "5s"]);
    expect(r.code, r.stderr).toBe(0);
  };
  const openssl = (...args: string[]): Promise<unknown> => run("openssl", args);
  /** Every secret value in every form a leak could take (base64 of user:password as a header carries it). */
  const secrets = (): string[] => [TOKEN, PASSWORD, WRONG, ...[`alice:${PASSWORD}`, `x-access-token:${TOKEN}`, `alice:${WRONG}`].map((s) => Buffer.from(s).toString("base64")), ...sshKeyLines];

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 1 });
    d = join(c.dir, "auth");
    root = join(d, "git");
    const addr = c.topo.controllerAddr;
    // One repository, served twice: fleet.git and stall.git (whose fetches the server holds when told).
    const fleet = await fleetRepo(d);
    head = await fleet.commit(Object.fromEntries(["tok", "basic", "stall", "ssh"].map((s) => [`${s}/web-${s}.yaml`, spec(`web-${s}`)])), "fleet");
    await run("git", ["clone", "-q", "--bare", fleet.bare, join(fleet.root, "stall.git")]);

    // HTTPS: a CA of the test's own, a certificate for the controller's address.
    await openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("ca.key"), "-subj", "/CN=berth test git CA", "-days", "2", "-out", f("ca.pem"));
    await openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("srv.key"), "-subj", `/CN=${addr}`, "-out", f("srv.csr"));
    await writeFile(f("ext"), `subjectAltName=IP:${addr}\n`);
    await openssl("x509", "-req", "-in", f("srv.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", f("ext"), "-out", f("srv.pem"));
    await writeFile(f("users"), `alice:${PASSWORD}\nx-access-token:${TOKEN}\n`);
    https = await startGitServer(c.topo, { addr, port: HTTPS_PORT, root, env: { GIT_HTTP_TLS_CERT: f("srv.pem"), GIT_HTTP_TLS_KEY: f("srv.key"), GIT_HTTP_USERS: f("users") } });
    const up = (p: ChildProcess, stream: "stdout" | "stderr", line: string, what: string): Promise<void> =>
      new Promise<void>((ok, fail) => {
        let seen = "";
        p[stream]?.on("data", (b: Buffer) => {
          seen += b.toString();
          if (seen.includes(line)) ok();
        });
        p.once("exit", (code) => fail(new Error(`${what} exited ${code}: ${seen}`)));
      });

    // SSH: Debian's sshd with a host key, config and authorized_keys of its own.
    for (const k of ["host", "other-host", "deploy", "wrong"]) await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", k, "-f", f(`${k}_key`)]);
    await cp(f("deploy_key.pub"), f("authorized_keys"));
    const hostPub = (await readFile(f("host_key.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
    const otherPub = (await readFile(f("other-host_key.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
    await writeFile(f("known_hosts"), `# ssh-keyscan -p ${SSH_PORT} ${addr}\n[${addr}]:${SSH_PORT} ${hostPub}\n`);
    await writeFile(f("wrong_known_hosts"), `[${addr}]:${SSH_PORT} ${otherPub}\n`);
    await writeFile(f("elsewhere_known_hosts"), `git.example.org ${hostPub}\n`);
    sshKeyLines = (await readFile(f("deploy_key"), "utf8")).split("\n").filter((l) => l && !l.startsWith("-----"));
    await writeFile(
      f("sshd_config"),
      [
        `ListenAddress ${addr}:${SSH_PORT}`,
        `HostKey ${f("host_key")}`,
        `AuthorizedKeysFile ${f("authorized_keys")}`,
        `PidFile ${f("sshd.pid")}`,
        // The keys live in the test's temp dir, whose parents are not root-only.
        "StrictModes no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "AllowUsers root",
        "",
      ].join("\n"),
    );
    // sshd's privilege separation directory (what its systemd unit makes).
    madeRunSshd = !(await stat("/run/sshd").then(() => true, () => false));
    if (madeRunSshd) await mkdir("/run/sshd", { mode: 0o755 });
    sshd = c.topo.spawn(0, ["/usr/sbin/sshd", "-D", "-e", "-f", f("sshd_config")]);
    await up(sshd, "stderr", "Server listening", "sshd");

    for (const [name, file, value] of [
      ["gh-token", "token", TOKEN],
      ["alice-pw", "pw", PASSWORD],
      ["wrong-pw", "wrong", WRONG],
    ] as const) {
      await writeFile(f(file), value);
      const r = await c.cli(["secret", "set", name, "--from-file", f(file)]);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const [name, file] of [
      ["deploy-key", "deploy_key"],
      ["wrong-key", "wrong_key"],
    ] as const) {
      const r = await c.cli(["secret", "set", name, "--from-file", f(file)]);
      expect(r.code, r.stderr).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    https?.stop();
    sshd?.kill("SIGTERM");
    if (madeRunSshd) await rmdir("/run/sshd").catch(() => undefined);
    if (c) {
      await c.dumpLogs();
      await c.destroy();
    }
  });

  const httpsRepo = (repo = "fleet"): string => `https://${c.topo.controllerAddr}:${HTTPS_PORT}/${repo}.git`;
  const sshRepo = (): string => `ssh://root@${c.topo.controllerAddr}:${SSH_PORT}${join(root, "fleet.git")}`;

  it("syncs over HTTPS with a token, and with a username and password", async () => {
    await add(["tok", "--repo", httpsRepo(), "--path", "tok", "--token-secret", "gh-token", "--ca-file", f("ca.pem")]);
    await add(["basic", "--repo", httpsRepo(), "--path", "basic", "--username", "alice", "--password-secret", "alice-pw", "--ca-file", f("ca.pem")]);
    await waitSource("tok", (s) => s.last_applied?.commit === head, "source tok to apply over HTTPS with its token");
    const b = await waitSource("basic", (s) => s.last_applied?.commit === head, "source basic to apply over HTTPS with basic auth");
    expect(b.source.ca_pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("says authentication failed for a wrong password, naming the source and URL, never the secret", async () => {
    await add(["wrong", "--repo", httpsRepo(), "--path", "basic", "--username", "alice", "--password-secret", "wrong-pw", "--ca-file", f("ca.pem")]);
    const s = await waitSource("wrong", (x) => x.fetch_error !== "", "source wrong to fail its fetch");
    expect(s.fetch_error).toBe(`authentication failed: ${httpsRepo()} refused the credentials (password secret "wrong-pw" as user "alice")`);
    expect(s.head).toBe("");
    const ev = await c.waitForEvent((e) => e.type === "gitops.fetch-failed" && e.message.startsWith("source wrong: authentication failed"), "the fetch-failed event of source wrong");
    expect(ev.message).toContain(httpsRepo());
    // Without credentials, a server that asks for them: said so, not "could not read Username".
    await add(["anon", "--repo", httpsRepo(), "--path", "basic", "--ca-file", f("ca.pem")]);
    const anon = await waitSource("anon", (x) => x.fetch_error !== "", "source anon to fail its fetch");
    expect(anon.fetch_error).toMatch(/^authentication failed: .* asks for credentials and the source has none/);
  });

  it("refuses a server whose certificate no trusted CA vouches for", async () => {
    await add(["noca", "--repo", httpsRepo(), "--path", "tok", "--token-secret", "gh-token"]);
    const s = await waitSource("noca", (x) => x.fetch_error !== "", "source noca to fail its fetch");
    expect(s.fetch_error).toMatch(new RegExp(`^TLS: the certificate of ${httpsRepo().replace(/\./g, "\\.")} is not trusted .*--ca-file`));
    const r = await c.cli(["gitops", "add", "badca", "--repo", httpsRepo(), "--ca-file", f("users")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${f("users")}: no PEM certificate in it`);
  });

  it("never puts a credential in any process's argv while git fetches", async () => {
    await https!.stall("stall");
    try {
      await add(["stall", "--repo", httpsRepo("stall"), "--path", "stall", "--username", "alice", "--password-secret", "alice-pw", "--ca-file", f("ca.pem")]);
      const cmdlines = async (): Promise<string[]> => {
        const out: string[] = [];
        for (const pid of (await readdir("/proc")).filter((p) => /^\d+$/.test(p))) {
          const text = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
          if (text) out.push(text.replace(/\0/g, " "));
        }
        return out;
      };
      // git is held by the server mid-fetch: its processes (git fetch, git-remote-https) are there to look at.
      await https!.said("stalled", 1, "the fetch of stall.git to be held");
      const seen = await waitFor(async () => {
        const all = await cmdlines();
        return all.some((l) => l.includes("remote-https") && l.includes("stall.git")) ? all : undefined;
      }, { timeoutMs: 20_000, intervalMs: 50, what: "git to be fetching stall.git" });
      const again = await cmdlines();
      for (const l of [...seen, ...again]) for (const s of secrets()) expect(l.includes(s), `argv of a process holds a secret: ${l.slice(0, 200)}`).toBe(false);
    } finally {
      await https!.release();
    }
    await waitSource("stall", (s) => s.last_applied?.commit === head, "source stall to apply once the server answers");
  });

  it("syncs over SSH with a deploy key and the server's host key", async () => {
    await add(["ssh", "--repo", sshRepo(), "--path", "ssh", "--ssh-key-secret", "deploy-key", "--known-hosts", f("known_hosts")]);
    const s = await waitSource("ssh", (x) => x.last_applied?.commit === head, "source ssh to apply over SSH");
    expect(s.source.known_hosts).toContain(`[${c.topo.controllerAddr}]:${SSH_PORT} ssh-ed25519 `);
  });

  it("refuses a server whose host key is not the source's, and fetches nothing", async () => {
    await add(["badhost", "--repo", sshRepo(), "--path", "ssh", "--ssh-key-secret", "deploy-key", "--known-hosts", f("wrong_known_hosts")]);
    const s = await waitSource("badhost", (x) => x.fetch_error !== "", "source badhost to fail its fetch");
    const fp = ((await run("ssh-keygen", ["-l", "-f", f("host_key.pub")])) as { stdout: string }).stdout.split(" ")[1] ?? "?";
    expect(s.fetch_error).toBe(`host key verification failed: ${sshRepo()} presented a host key (${fp}) that is not the one in the source's known_hosts; nothing was fetched`);
    expect(s.head).toBe("");
  });

  it("says authentication failed for a deploy key the server does not take", async () => {
    await add(["badkey", "--repo", sshRepo(), "--path", "ssh", "--ssh-key-secret", "wrong-key", "--known-hosts", f("known_hosts")]);
    const s = await waitSource("badkey", (x) => x.fetch_error !== "", "source badkey to fail its fetch");
    expect(s.fetch_error).toBe(`authentication failed: ${sshRepo()} refused the deploy key (deploy key secret "wrong-key")`);
  });

  it("checks an SSH source's host keys when it is added", async () => {
    let r = await c.cli(["gitops", "add", "nokh", "--repo", sshRepo(), "--ssh-key-secret", "deploy-key"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/known_hosts: an SSH repository needs its host key \(--known-hosts FILE/);
    r = await c.cli(["gitops", "add", "elsewhere", "--repo", sshRepo(), "--ssh-key-secret", "deploy-key", "--known-hosts", f("elsewhere_known_hosts")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${f("elsewhere_known_hosts")}: no key for [${c.topo.controllerAddr}]:${SSH_PORT}`);
    expect((await c.cli(["gitops", "list"])).stdout).not.toMatch(/nokh|elsewhere/);
  });

  it("shows no secret in any log, event or status", async () => {
    // The list's JSON is every source's status view; the tables of one source of each kind.
    const texts = [await c.dumpLogs(), JSON.stringify(await c.events()), (await c.cli(["gitops", "list", "-o", "json"])).stdout, (await c.cli(["gitops", "list"])).stdout];
    for (const n of ["wrong", "ssh"]) texts.push((await c.cli(["gitops", "status", n])).stdout);
    for (const t of texts) for (const s of secrets()) expect(t.includes(s), `a secret shows: …${t.slice(Math.max(0, t.indexOf(s) - 100), t.indexOf(s) + 40)}…`).toBe(false);
  });
});
