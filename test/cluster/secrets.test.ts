/**
 * Secrets on a real topology (issue 13): a value set with `berth secret set` reaches
 * the process that names it — as an environment variable and as a file, mode 0400,
 * owned by the run user — and no other place: not another host's disk, not a file
 * of the running host outside its secrets dir, not a log line of any process, not
 * the JSON of any read command, events or the audit log. A viewer reads env names,
 * not values; a new value rolls the service; a secret in use cannot be deleted; a
 * spec naming an unknown secret is refused with its file and line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, type Dirent } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Cluster } from "./harness/cluster.js";
import { recentOutput } from "./harness/topology.js";
import { waitFor } from "./harness/wait.js";
import { secretsRoot } from "../../agent/secrets/material.js";

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");
const hex = randomBytes(6).toString("hex");
const FILE_DIR = `/run/secrets/berth-test-${hex}`;
const FILE = `${FILE_DIR}/tls.key`;
const VALUE_1 = `db-pass-one-${randomBytes(12).toString("hex")}`;
const VALUE_2 = `db-pass-two-${randomBytes(12).toString("hex")}`;
const FILE_VALUE = `tls-key-${randomBytes(12).toString("hex")}`;
const VALUES = [VALUE_1, VALUE_2, FILE_VALUE];

/** Prints hashes of what it got (never the values: its log must not hold them), then stays up. */
const SCRIPT = [
  `printf 'env-sha=%s\\n' "$(printf %s "$DB_PASSWORD" | sha256sum | cut -d' ' -f1)"`,
  `printf 'file-sha=%s\\n' "$(sha256sum < ${FILE} | cut -d' ' -f1)"`,
  `stat -c 'file-mode=%a owner=%u' ${FILE}`,
  "exec sleep 100000",
].join("; ");

const spec = (name: string, o: { secret?: string; env?: Record<string, string> } = {}): string =>
  // JSON is YAML: no quoting to get wrong in a shell script.
  JSON.stringify({
    name,
    run: { command: "sh", args: ["-c", SCRIPT], env: { PLAIN: "visible-value", ...o.env }, stopTimeout: "1s" },
    secrets: { DB_PASSWORD: o.secret ?? "db-password" },
    secretFiles: { [FILE]: "tls-key" },
  }, null, 2);

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The files that hold a secret's value. A file gone since it was listed (an agent's temp file, renamed into place meanwhile) holds nothing. */
const holding = (files: string[]): string[] =>
  files.filter((f) => {
    let data: Buffer;
    try {
      data = readFileSync(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
    return VALUES.some((v) => data.includes(v));
  });

describe("secrets", () => {
  let c: Cluster;
  let specs: string;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2 });
    specs = join(c.dir, "specs", "sec");
    await c.specDir("sec", { "sec.yaml": spec("sec") });
    await writeFile(join(c.dir, "v1"), VALUE_1);
    await writeFile(join(c.dir, "v2"), VALUE_2);
    await writeFile(join(c.dir, "tls"), FILE_VALUE);
  }, 60_000);

  afterAll(async () => {
    if (c) {
      // Agents killed by destroy() leave their tmpfs secrets behind: those are this test's to remove.
      for (const i of [1, 2]) await rm(join(secretsRoot(c.hostDir(i)).dir), { recursive: true, force: true });
      await c.destroy();
    }
    await rm(FILE_DIR, { recursive: true, force: true });
  });

  const logsOf = async (): Promise<string> => {
    const r = await c.cli(["logs", "sec", "--tail", "50"]);
    return r.stdout;
  };

  it("refuses a spec naming a secret that is not stored, with its file and line", async () => {
    const r = await c.apply(specs);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/sec\.yaml:\d+:\d+: secrets\.DB_PASSWORD: no secret "db-password" on the controller/);
  });

  // Many CLI calls and a read of every file of three data dirs: slow on a loaded machine.
  it("delivers the value as env and file (0400, the run user's) to the one host that runs it, and nowhere else", { timeout: 240_000 }, async () => {
    for (const [name, file] of [["db-password", "v1"], ["tls-key", "tls"]]) {
      const r = await c.cli(["secret", "set", name!, "--from-file", join(c.dir, file!)]);
      expect(r.code, r.stderr).toBe(0);
    }
    const applied = await c.apply(specs);
    expect(applied.code, applied.stderr).toBe(0);
    const st = await c.waitForStatus("sec", (s) => s.instances[0]?.state === "healthy", "sec healthy");
    const host = st.instances[0]!.host;
    const out = await waitFor(async () => {
      const l = await logsOf();
      return l.includes("file-mode=") ? l : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200, what: "the service's output" });
    expect(out).toContain(`env-sha=${sha(VALUE_1)}`);
    expect(out).toContain(`file-sha=${sha(FILE_VALUE)}`);
    // Owned by the user the process runs as: its own system user, not root.
    expect(out).toContain(`file-mode=400 owner=${execFileSync("id", ["-u", "berth-sec"], { encoding: "utf8" }).trim()}`);

    // Disks: the controller's data dir and the other host's hold no value; the running
    // host's only in its secrets dir (when /run is no tmpfs, as here), never a state file or log.
    const hostIds = [await c.hostIdOf(1), await c.hostIdOf(2)];
    const running = hostIds.indexOf(host) + 1;
    expect(running).toBeGreaterThan(0);
    expect(holding(filesUnder(c.ctlDir))).toEqual([]);
    expect(holding(filesUnder(c.hostDir(3 - running)))).toEqual([]);
    const root = secretsRoot(c.hostDir(running)).dir;
    expect(holding(filesUnder(c.hostDir(running))).filter((f) => !f.startsWith(`${root}/`))).toEqual([]);
    expect(holding(filesUnder(root))).toEqual([join(root, "sec-0", "env.json")]);
    expect(statSync(join(root, "sec-0", "env.json")).mode & 0o777).toBe(0o600);

    // Outputs: every read command, events, the audit log, and what every process printed.
    const reads = [["status", "sec"], ["services"], ["hosts"], ["events", "-n", "10000"], ["audit"], ["secret", "list"], ["rollout", "status", "sec"], ["plan", "-f", specs]];
    // At once: each is a CLI process of its own, and one after another is slow on a loaded machine.
    const results = await Promise.all(reads.map((args) => c.cli([...args, "-o", "json"])));
    reads.forEach((args, i) => {
      const r = results[i]!;
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      for (const v of VALUES) expect(r.stdout + r.stderr, args.join(" ")).not.toContain(v);
    });
    const procs = [c.controller!, ...c.agents.values()];
    for (const p of procs) for (const v of VALUES) expect(JSON.stringify(recentOutput(p))).not.toContain(v);
    const list = JSON.parse((await c.cli(["secret", "list", "-o", "json"])).stdout) as { name: string; version: number; used_by: string[] }[];
    expect(list.map((s) => [s.name, s.version, s.used_by])).toEqual([["db-password", 1, ["sec"]], ["tls-key", 1, ["sec"]]]);
  });

  it("shows a viewer the names of env vars and secrets, not the values of run.env", async () => {
    const viewer = (await c.cli(["token", "create", "--role", "viewer"])).stdout.trim();
    const asViewer = JSON.parse((await c.cli(["status", "sec", "-o", "json"], { token: viewer })).stdout) as { spec: { run: { env: Record<string, string> }; secrets: Record<string, unknown> } };
    expect(asViewer.spec.run.env.PLAIN).toBe("(hidden)");
    expect(Object.keys(asViewer.spec.secrets)).toEqual(["DB_PASSWORD"]);
    const asAdmin = JSON.parse((await c.cli(["status", "sec", "-o", "json"])).stdout) as typeof asViewer;
    expect(asAdmin.spec.run.env.PLAIN).toBe("visible-value");
    // A plan a viewer makes does not say whether PLAIN's value differs (that would confirm a guess), nor
    // to what; a variable added shows by name. An operator's plan shows the change.
    await writeFile(join(specs, "sec.yaml"), spec("sec", { env: { PLAIN: "new-visible-value", ADDED: "x" } }));
    const plan = await c.cli(["plan", "-f", specs, "-o", "json"], { token: viewer });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("run.env.ADDED");
    expect(plan.stdout).not.toContain("run.env.PLAIN");
    expect(plan.stdout).not.toContain("visible-value");
    expect((await c.cli(["plan", "-f", specs, "-o", "json"])).stdout).toContain("run.env.PLAIN");
    // The store's counter is the state index (for --check-index), never called a revision: those are the services'.
    const data = JSON.parse(plan.stdout) as Record<string, unknown>;
    expect(Number(data["state_index"])).toBeGreaterThan(0);
    expect(data).not.toHaveProperty("revision");
    await writeFile(join(specs, "sec.yaml"), spec("sec"));
  });

  it("rolls the service to a new value, and shows the change as a new version", async () => {
    const before = await c.status("sec");
    const r = await c.cli(["secret", "set", "db-password", "--from-file", join(c.dir, "v2")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/version 2: rolling sec/);
    const after = await c.waitForStatus("sec", (s) => s.revision > before.revision && s.instances.every((i) => i.revision === s.revision && i.state === "healthy"), "sec rolled to the new value");
    expect(after.revision).toBe(before.revision + 1);
    await waitFor(async () => ((await logsOf()).includes(`env-sha=${sha(VALUE_2)}`) ? true : undefined), { timeoutMs: 20_000, intervalMs: 200, what: "the new value in the process" });
    const events = await c.events();
    expect(events.some((e) => e.type === "secret.set" && e.message.includes("db-password version 2"))).toBe(true);
    for (const v of VALUES) expect(JSON.stringify(events)).not.toContain(v);
    // The same value again changes nothing.
    const again = await c.cli(["secret", "set", "db-password", "--from-file", join(c.dir, "v2"), "-o", "json"]);
    expect((JSON.parse(again.stdout) as { version: number }).version).toBe(2);
  });

  it("refuses to delete a secret in use, naming the service; deletes it once unused", async () => {
    const r = await c.cli(["secret", "rm", "db-password"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/secret db-password is in use by sec/);
    const del = await c.cli(["delete", "sec"]);
    expect(del.code, del.stderr).toBe(0);
    // Gone with the instance: the file under /run/secrets and the secret environment.
    await waitFor(() => (filesUnder(FILE_DIR).length === 0 ? true : undefined), { timeoutMs: 20_000, intervalMs: 200, what: "the secret file removed" });
    const ok = await c.cli(["secret", "rm", "db-password"]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
