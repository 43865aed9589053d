/**
 * Who a service runs as (issue 13), on a real topology: by default its own system
 * user berth-<service>, never root — the process, its exec health check and
 * `berth exec --service` all run as that user and see its secrets, with HOME a
 * folder of its own under the agent's data dir; its secret files are 0400 and its own. `run.user: root` needs an admin token (an operator's
 * apply is refused, naming admin and allowRoot) and a host whose agent allows root
 * (elsewhere the slot stays unplaced, saying why).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { randomBytes, createHash } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Cluster } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { secretsRoot } from "../../agent/secrets/material.js";

const hex = randomBytes(6).toString("hex");
const FILE_DIR = `/run/secrets/berth-runas-${hex}`;
const FILE = `${FILE_DIR}/key`;
const VALUE = `runas-${randomBytes(12).toString("hex")}`;
const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

const SCRIPT = [`echo "uid=$(id -u) user=$(id -un)"`, 'echo "home=$HOME"', 'test -f "$HOME/.install-home" && echo "install-home=$(cat "$HOME/.install-home")"', `stat -c 'file-mode=%a owner=%U' ${FILE}`, "exec sleep 100000"].join("; ");

const spec = (name: string, o: { user?: string; constraints?: Record<string, string> } = {}): string =>
  JSON.stringify({
    name,
    run: { command: "sh", args: ["-c", SCRIPT], stopTimeout: "1s", ...(o.user ? { user: o.user } : {}) },
    secrets: { TOKEN: "runas-token" },
    secretFiles: { [FILE]: "runas-token" },
    // Healthy only as a non-root user that sees the secret variable and its own writable HOME, as the process does.
    ...(o.user === "root" ? {} : { health: { exec: { command: ["sh", "-c", 'test "$(id -u)" != 0 && test -n "$TOKEN" && test -w "$HOME" && test "$(stat -c %U "$HOME")" = "$(id -un)"'] }, interval: "1s", timeout: "500ms" } }),
    // The install step runs as the service's user with the same HOME: what it leaves there the process finds.
    ...(o.user === undefined ? { install: { steps: [{ run: 'printf %s "$HOME" > "$HOME/.install-home"' }] } } : {}),
    ...(o.constraints ? { constraints: o.constraints } : {}),
  }, null, 2);

describe("who a service runs as", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2, startAgents: false });
    const token = await c.joinToken(2);
    // Host 1 (dc=dc1) keeps the default; host 2 (dc=dc2) allows root.
    c.startAgent(1, { token });
    c.startAgent(2, { token, allowRoot: true });
    await c.waitForHosts((hs) => hs.filter((h) => h.status === "ready").length === 2, "2 ready hosts");
    await writeFile(join(c.dir, "v"), VALUE);
    const r = await c.cli(["secret", "set", "runas-token", "--from-file", join(c.dir, "v")]);
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    if (c) {
      for (const i of [1, 2]) await rm(secretsRoot(c.hostDir(i)).dir, { recursive: true, force: true });
      await c.destroy();
    }
    await rm(FILE_DIR, { recursive: true, force: true });
  });

  const logsOf = (svc: string, pred: (s: string) => boolean): Promise<string> =>
    waitFor(async () => {
      const l = (await c.cli(["logs", svc, "--tail", "20"])).stdout;
      return pred(l) ? l : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `${svc}'s output` });

  it("runs as berth-<service> by default: the process, its exec health check and exec --service, with its secrets; the secret file 0400 and its own", { timeout: 120_000 }, async () => {
    const dir = await c.specDir("plain", { "ident.yaml": spec("ident") });
    const applied = await c.cli(["apply", "-f", dir], { timeoutMs: 60_000 });
    expect(applied.code, applied.stderr).toBe(0);
    await c.waitForStatus("ident", (s) => s.instances[0]?.state === "healthy", "ident healthy (its exec check saw a non-root uid and TOKEN)");
    const out = await logsOf("ident", (l) => l.includes("file-mode="));
    const uid = Number(execFileSync("id", ["-u", "berth-ident"], { encoding: "utf8" }).trim());
    expect(uid).toBeGreaterThan(0);
    expect(out).toContain(`uid=${uid} user=berth-ident`);
    expect(out).toContain("file-mode=400 owner=berth-ident");
    // HOME: a folder of its own under the agent's data dir, the same for the process, its install step, its check and exec.
    const st = await c.waitForStatus("ident", (x) => x.instances[0]?.host !== "", "ident placed");
    const on = st.instances[0]!.host === (await c.hostIdOf(1)) ? 1 : 2;
    const home = join(c.hostDir(on), "homes", "berth-ident");
    expect(out).toContain(`home=${home}`);
    expect(out).toContain(`install-home=${home}`);
    const ex = await c.cli(["exec", "--service", "ident", "--", "sh", "-c", 'echo "uid=$(id -u) home=$HOME"; printf %s "$TOKEN" | sha256sum']);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toContain(`uid=${uid} home=${home}`);
    expect(ex.stdout).toContain(sha(VALUE));
  });

  it("refuses run.user root from an operator, naming admin and allowRoot", async () => {
    const operator = (await c.cli(["token", "create", "--role", "operator"])).stdout.trim();
    const dir = await c.specDir("root-op", { "rooted.yaml": spec("rooted", { user: "root" }) });
    const r = await c.cli(["apply", "-f", dir], { token: operator, timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/rooted\.yaml:\d+:\d+: run\.user: rooted: run\.user root needs an admin token \(this one is operator\).*allowRoot: true/);
  });

  it("places a root service only where the agent allows root, and says why elsewhere", { timeout: 120_000 }, async () => {
    // Only host 1 is in dc1, and it does not allow root.
    const dir = await c.specDir("root-dc1", { "pinned.yaml": spec("pinned", { user: "root", constraints: { dc: "dc1" } }) });
    const r = await c.cli(["apply", "-f", dir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const st = await c.waitForStatus("pinned", (s) => (s.instances[0]?.reason ?? "") !== "", "pinned's reason");
    expect(st.instances[0]!.host).toBe("");
    expect(st.instances[0]!.reason).toMatch(/doesn't allow run\.user root \(allowRoot: true in agent\.yaml\)/);
  });

  it("runs run.user root applied by an admin on the host that allows it", { timeout: 120_000 }, async () => {
    // One service per host: the earlier ones make room.
    for (const svc of ["ident", "pinned"]) expect((await c.cli(["delete", svc])).code).toBe(0);
    const dir = await c.specDir("root-admin", { "rooted.yaml": spec("rooted", { user: "root" }) });
    const r = await c.cli(["apply", "-f", dir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const st = await c.waitForStatus("rooted", (s) => s.instances[0]?.state === "healthy", "rooted running");
    expect(st.instances[0]!.host).toBe(await c.hostIdOf(2));
    const out = await logsOf("rooted", (l) => l.includes("file-mode="));
    expect(out).toContain("uid=0 user=root");
    expect(out).toContain("file-mode=400 owner=root");
  });
});
