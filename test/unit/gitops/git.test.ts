/** The git shell (controller/gitops/git.ts) on its own: what it leaves on disk. */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
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
    if (root) await rm(root, { recursive: true, force: true });
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
});
