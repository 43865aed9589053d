/** The git shell (controller/gitops/git.ts) on its own: what it leaves on disk. */
import { afterEach, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitError, Mirror } from "../../../controller/gitops/git.js";
import { until } from "../until.js";

/** The command lines of every process now, NUL-separated arguments joined by spaces. */
async function cmdlines(): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir("/proc")).filter((p) => /^\d+$/.test(p))) {
    const text = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (text) out.push(text.replace(/\0/g, " "));
  }
  return out;
}

describe("Mirror", () => {
  let root = "";
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    server = undefined;
    if (root) await rm(root, { recursive: true, force: true, maxRetries: 5 });
  });

  it("kills the whole fetch when it times out, not only git: no transport helper is left hanging on the server", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-mirror-"));
    // A server that takes the connection and never answers.
    server = createServer((s) => void sockets.add(s));
    await new Promise<void>((ok) => server!.listen(0, "127.0.0.1", ok));
    const port = (server.address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}/hung.git`;
    const m = new Mirror(root, "hung", { timeoutMs: 1500 });
    await expect(m.fetch(url, "main", { kind: "none" })).rejects.toThrow(/git fetch timed out/);
    await until(() => sockets.size > 0, "the connection");
    let left: string[] = [];
    const deadline = Date.now() + 5000;
    do left = (await cmdlines()).filter((l) => l.includes(url));
    while (left.length && Date.now() < deadline);
    expect(left).toEqual([]);
  });

  it("removes a deploy key, known_hosts or CA file a crash mid-fetch left behind, at the next fetch", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-mirror-"));
    const m = new Mirror(root, "src");
    // A first fetch makes the mirror (nothing listens on port 1: it fails at once).
    await expect(m.fetch("http://127.0.0.1:1/x.git", "main", { kind: "none" })).rejects.toBeInstanceOf(GitError);
    for (const f of [".deploy-key-0123456789ab", ".known-hosts-0123456789ab", ".ca-0123456789ab"]) await writeFile(join(m.dir, f), "left by a crash", { mode: 0o600 });
    await expect(m.fetch("http://127.0.0.1:1/x.git", "main", { kind: "none" })).rejects.toBeInstanceOf(GitError);
    expect((await readdir(m.dir)).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("a commit with an absolute symlink is refused by name, and only once every other entry is written (no partial tree left to race)", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-mirror-"));
    const repo = join(root, "repo");
    await mkdir(join(repo, "fleet", "many"), { recursive: true });
    for (let i = 0; i < 300; i++) await writeFile(join(repo, "fleet", "many", `f${i}.txt`), `${i}\n`.repeat(200));
    await symlink("/etc/ssl/certs", join(repo, "fleet", "certs"));
    await symlink("many/f1.txt", join(repo, "fleet", "ok-link"));
    const git = (...args: string[]): string => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: repo, encoding: "utf8" });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-qm", "an absolute symlink");
    // The mirror as a fetch leaves it (fetches refuse file:// URLs): a bare copy of the repository.
    const m = new Mirror(join(root, "mirrors"), "src");
    execFileSync("git", ["clone", "-q", "--bare", repo, m.dir]);
    const head = git("rev-parse", "HEAD").trim();
    const into = join(root, "tree");
    await expect(m.extract(head, "", into)).rejects.toThrow(/fleet\/certs: a symlink to \/etc\/ssl\/certs, outside the repository/);
    // Everything else was written before the answer: the caller may remove the tree at once.
    expect((await readdir(join(into, "fleet", "many"))).length).toBe(300);
    await rm(into, { recursive: true });
  });
});
