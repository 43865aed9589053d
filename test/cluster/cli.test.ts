/** The CLI as users meet it: help everywhere, clear usage errors, `agent install`. */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BERTH_MAIN } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { readAgentFile } from "../../cli/run/daemons.js";

const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(process.execPath, [BERTH_MAIN, ...args], { env: { ...process.env, XDG_CONFIG_HOME: "/nonexistent", ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
};

const JOIN = `bj1.${"ab".repeat(32)}.0123456789.${"A".repeat(32)}`;

describe("berth CLI", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("every command has --help with an example", async () => {
    const commands = [
      [], ["controller"], ["agent"], ["agent", "install"], ["dev"], ["hosts"], ["host", "show"], ["cordon"], ["uncordon"], ["events"], ["token", "create"],
      ["plan"], ["apply"], ["render"], ["services"], ["status"], ["delete"], ["place"], ["unpin"], ["drain"], ["logs"], ["endpoints"], ["schema"], ["failover", "resume"], ["audit"], ["completion"],
    ];
    const results = await Promise.all(commands.map((c) => run([...c, "--help"])));
    results.forEach((r, i) => {
      expect(r.code, commands[i]!.join(" ")).toBe(0);
      expect(r.stdout).toMatch(/Usage: berth/);
      // Every runnable command shows an example (groups like `host` and `token` only list theirs).
      if (commands[i]!.length && !["host", "token", "failover"].includes(commands[i]![0]!) || commands[i]!.length > 1) expect(r.stdout, commands[i]!.join(" ")).toMatch(/Example/);
    });
  });

  it("`npx berth` runs the built CLI from the repository, as the README says", async () => {
    const r = await promisify(execFile)("npx", ["--no-install", "berth", "--version"], { cwd: resolve(BERTH_MAIN, "../../.."), env: { ...process.env, XDG_CONFIG_HOME: "/nonexistent" } });
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("bad flags and local misconfiguration exit 2 with a message that says what to do", async () => {
    expect((await run(["hosts", "-o", "xml"], { BERTH_ADDR: "127.0.0.1:1", BERTH_TOKEN: "x", BERTH_CA: "/dev/null" })).stderr).toMatch(/-o xml: expected one of table, json, yaml/);
    const noCfg = await run(["hosts"]);
    expect(noCfg.code).toBe(2);
    expect(noCfg.stderr).toMatch(/berth dev/);
    expect((await run(["nosuchcommand"])).code).toBe(2);
    const badLabels = await run(["agent", "--labels", "Bad=1", "--data-dir", "/tmp/x"]);
    expect(badLabels.code).toBe(2);
    expect(badLabels.stderr).toMatch(/--labels: .*key "Bad"/);
    expect((await run(["dev", "--hosts", "0"])).stderr).toMatch(/--hosts 0/);
    // Refused before anything starts (each child used to refuse it once the fleet was half up).
    const badLevel = await run(["dev", "--log-level", "bogus", "--data-dir", "/nonexistent/berth-dev"]);
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toMatch(/^berth: --log-level bogus: expected trace, debug/);
  });

  it("agent install --dry-run prints every file and writes nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-install-"));
    dirs.push(dir);
    const r = await run(["agent", "install", "--controller", "10.0.0.5:7420", "--token", JOIN, "--labels", "dc=dc1,rack=r7", "--prefix", dir, "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    // --token still works, with a word on why not to use it.
    expect(r.stderr).toMatch(/warning: --token puts the token in argv.*--token-file PATH or BERTH_JOIN_TOKEN/);
    expect(r.stdout).toContain(`--- ${dir}/etc/berth/agent.yaml (mode 600)`);
    expect(r.stdout).toContain(`--- ${dir}/etc/systemd/system/berth-agent.service (mode 644)`);
    expect(r.stdout).toContain("Restart=always");
    await expect(stat(join(dir, "etc"))).rejects.toThrow();
  });

  it("agent install --prefix writes the config, the unit and the data dir, and the agent can read its config", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-install-"));
    dirs.push(dir);
    await writeFile(join(dir, "join.token"), JOIN + "\n", { mode: 0o600 });
    const r = await run(["agent", "install", "--controller", "10.0.0.5:7420", "--token-file", join(dir, "join.token"), "--labels", "dc=dc1", "--prefix", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    const cfgPath = join(dir, "etc/berth/agent.yaml");
    expect((await stat(cfgPath)).mode & 0o777).toBe(0o600);
    expect(parse(await readFile(cfgPath, "utf8"))).toEqual({ controller: "10.0.0.5:7420", token: JOIN, dataDir: "/var/lib/berth/agent", logLevel: "info", labels: { dc: "dc1" } });
    const unit = await readFile(join(dir, "etc/systemd/system/berth-agent.service"), "utf8");
    expect(unit).toMatch(/^ExecStart=\S+node\S* \S+\/main\.js agent --config \/etc\/berth\/agent\.yaml$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    // Passable, not readable: services run as their own users and must reach their folders below it (agent/runas/reach.ts).
    expect((await stat(join(dir, "var/lib/berth"))).mode & 0o777).toBe(0o711);
    expect((await stat(join(dir, "var/lib/berth/agent"))).mode & 0o777).toBe(0o711);
    // Refuses an operator token: an installed agent could never join with it.
    const wrong = await run(["agent", "install", "--controller", "10.0.0.5:7420", "--prefix", dir], { BERTH_JOIN_TOKEN: `bt1.0123456789.${"A".repeat(32)}` });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/operator token/);
    const none = await run(["agent", "install", "--controller", "10.0.0.5:7420", "--prefix", dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no join token: give --token-file PATH or set BERTH_JOIN_TOKEN/);
    const empty = await run(["agent", "install", "--controller", "10.0.0.5:7420", "--token-file", join(dir, "nope"), "--prefix", dir]);
    expect(empty.stderr).toMatch(/--token-file .*nope: no such file/);
  });

  it("agent install --allow-root writes allowRoot: true into agent.yaml, and the agent reads it; without it the key is absent", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-install-"));
    dirs.push(dir);
    const r = await run(["agent", "install", "--controller", "10.0.0.5:7420", "--token", JOIN, "--allow-root", "--prefix", dir]);
    expect(r.code, r.stderr).toBe(0);
    const cfgPath = join(dir, "etc/berth/agent.yaml");
    expect(parse(await readFile(cfgPath, "utf8"))).toMatchObject({ allowRoot: true });
    // The agent reads the file as written (an unknown key or a wrong type would be a usage error).
    expect((await readAgentFile(cfgPath)).allowRoot).toBe(true);
    const plain = await run(["agent", "install", "--controller", "10.0.0.5:7420", "--token", JOIN, "--prefix", dir, "--dry-run"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).not.toMatch(/allowRoot/);
  });

  it("agent install --controller takes every member of a controller group into agent.yaml; a repeated one is refused", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-install-"));
    dirs.push(dir);
    const r = await run(["agent", "install", "--controller", "10.0.0.5:7420,10.0.0.6,10.0.0.7:7420", "--token", JOIN, "--prefix", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect((parse(await readFile(join(dir, "etc/berth/agent.yaml"), "utf8")) as { controller: string }).controller).toBe("10.0.0.5:7420,10.0.0.6:7420,10.0.0.7:7420");
    const dup = await run(["agent", "install", "--controller", "10.0.0.5:7420,10.0.0.5", "--token", JOIN, "--prefix", dir, "--dry-run"]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/--controller: member 2 "10\.0\.0\.5" repeats member 1 \(10\.0\.0\.5:7420\)/);
    const bad = await run(["agent", "--controller", "10.0.0.5:7420,,x", "--data-dir", join(dir, "d")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--controller: member 2 is empty/);
  });

  it("an agent config file's member list is checked, naming the file and line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-install-"));
    dirs.push(dir);
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "agent.yaml"), "dataDir: /tmp/x\ncontroller:\n  - 10.0.0.5:7420\n  - 10.0.0.5:7420\n");
    const r = await run(["agent", "--config", join(dir, "agent.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, "agent.yaml")}:2: controller: member 2 "10.0.0.5:7420" repeats member 1`);
    const env = await run(["hosts"], { BERTH_ADDR: "a:1,a:1", BERTH_TOKEN: "x", BERTH_CA: "/dev/null" });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/BERTH_ADDR: member 2 "a:1" repeats member 1/);
  });

  it("a controller's first start leaves a CLI config that names another controller as it is, and says how to reach this one", { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-ctl-cfg-"));
    dirs.push(dir);
    const cfgFile = join(dir, "config.json");
    const mine = `${JSON.stringify({ addr: "10.9.9.9:7420", token: "bt1.other", ca: "other-ca" }, null, 2)}\n`;
    await writeFile(cfgFile, mine, { mode: 0o600 });
    const ctl = spawn(process.execPath, [BERTH_MAIN, "controller", "--data-dir", join(dir, "ctl"), "--listen", "127.0.0.1:27991", "--metrics-addr", "off", "--ui-addr", "off"], {
      env: { ...process.env, BERTH_CONFIG: cfgFile },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    ctl.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const exited = new Promise<void>((r) => ctl.once("exit", () => r()));
    try {
      await waitFor(async () => (/Give this one to the CLI/.test(err) ? true : undefined), { timeoutMs: 30_000, intervalMs: 100, what: `the first-start message (stderr so far: ${err})` });
      expect(err).toContain(`The berth CLI config of this user (${cfgFile}) names another controller (10.9.9.9:7420): left as it is.`);
      expect(err).toContain(`BERTH_ADDR=127.0.0.1:27991 BERTH_TOKEN="$(cat ${join(dir, "ctl")}/admin.token)" BERTH_CA=${join(dir, "ctl")}/ca.crt`);
      expect(await readFile(cfgFile, "utf8")).toBe(mine);
    } finally {
      ctl.kill("SIGTERM");
      await exited;
    }
  });

  it("an agent config file with an unknown field is refused, naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-install-"));
    dirs.push(dir);

    await writeFile(join(dir, "agent.yaml"), "controller: 10.0.0.5:7420\ncontroler: typo\n");
    const r = await run(["agent", "--config", join(dir, "agent.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/controler: unknown field/);
  });
});
