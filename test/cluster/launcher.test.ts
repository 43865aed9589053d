/**
 * The `berth` bin (cli/launcher.sh): operator commands start from the CLI's V8
 * start-up snapshot when the build made one for this very Node binary; whatever
 * else is the case (no blob, a blob from another node or copied elsewhere,
 * NODE_OPTIONS, a daemon command), it runs main.js, and berth works the same.
 * BERTH_LAUNCH_TRACE=1 makes it say which it ran.
 */
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BERTH_BIN, Cluster, ROOT } from "./harness/cluster.js";

const CLI_DIR = dirname(BERTH_BIN);

describe("the berth bin", () => {
  let c: Cluster;
  let tmp: string;
  beforeAll(async () => {
    c = await Cluster.start({ hosts: 1, startAgents: false });
    tmp = await mkdtemp(join(tmpdir(), "berth-launcher-"));
  }, 120_000);
  afterAll(async () => {
    await c?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 60_000);

  const run = (bin: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    c.topo.run(0, [bin, ...args], { env: { ...c.env(), BERTH_LAUNCH_TRACE: "1", NODE_OPTIONS: "", ...env } });

  /** A copy of the built CLI in a package of its own, with `files` from dist/cli (the launcher, main.js and its chunks always). */
  async function copyOfCli(name: string, files: string[]): Promise<string> {
    const pkg = join(tmp, name);
    const dir = join(pkg, "dist", "cli");
    await mkdir(dir, { recursive: true });
    await writeFile(join(pkg, "package.json"), await readFile(join(ROOT, "package.json")));
    await symlink(join(ROOT, "node_modules"), join(pkg, "node_modules"));
    await cp(join(CLI_DIR, "bundle"), join(dir, "bundle"), { recursive: true });
    for (const f of ["berth", "main.js", ...files]) await cp(join(CLI_DIR, f), join(dir, f), { preserveTimestamps: true });
    return join(dir, "berth");
  }

  it("runs an operator command from the snapshot, with the same result as main.js", async () => {
    expect(existsSync(join(CLI_DIR, "berth.blob")), "npm run build makes dist/cli/berth.blob on this Node").toBe(true);
    const snap = await run(BERTH_BIN, ["services", "-o", "json"]);
    expect(snap.stderr).toMatch(/berth launcher: snapshot/);
    expect(snap.code, snap.stderr).toBe(0);
    const plain = await run(BERTH_BIN, ["services", "-o", "json"], { BERTH_NO_SNAPSHOT: "1" });
    expect(plain.stderr).toMatch(/berth launcher: main\.js \(BERTH_NO_SNAPSHOT is set\)/);
    expect(snap.stdout).toBe(plain.stdout);
    // -o yaml loads yaml by the path of main.js (output.ts): the one found at run time, not at build.
    const yaml = await run(BERTH_BIN, ["hosts", "-o", "yaml"]);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout).toBe((await run(BERTH_BIN, ["hosts", "-o", "yaml"], { BERTH_NO_SNAPSHOT: "1" })).stdout);
    const schema = await run(BERTH_BIN, ["schema", "-o", "yaml"]);
    expect(schema.code, schema.stderr).toBe(0);
    expect(schema.stdout).toMatch(/properties:/);
    // Errors and exit codes too: an unknown service is exit 5 with its hint.
    const missing = await run(BERTH_BIN, ["status", "nosuch"]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/berth services/);
    // The environment of the run counts, not the build's: a wrong address is this run's.
    const away = await run(BERTH_BIN, ["services", "--addr", "127.0.0.1:1"]);
    expect(away.stderr).toMatch(/launcher: snapshot/);
    expect(away.code).toBe(3);
    expect(away.stderr).toMatch(/cannot reach the controller at 127\.0\.0\.1:1/);
    // --addr before the command too, its value not taken for the command.
    const before = await run(BERTH_BIN, ["--addr", "127.0.0.1:1", "services"]);
    expect(before.stderr).toMatch(/launcher: snapshot/);
    expect(before.code).toBe(3);
    expect(before.stderr).toMatch(/cannot reach the controller at 127\.0\.0\.1:1/);
    const daemon = await run(BERTH_BIN, ["--addr", "127.0.0.1:1", "controller", "--help"]);
    expect(daemon.stderr).toMatch(/launcher: main\.js \(berth controller is not in the snapshot\)/);
  });

  it("runs main.js, and works, when there is no blob", async () => {
    const bin = await copyOfCli("no-blob", []);
    const r = await run(bin, ["services", "-o", "json"]);
    expect(r.stderr).toMatch(/berth launcher: main\.js \(no snapshot built/);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("runs main.js, and works, when the blob's stamp does not name it and this node", async () => {
    // A copied blob is another file: what the stamp recorded no longer matches.
    const bin = await copyOfCli("copied-blob", ["berth.blob", "berth.blob.stamp"]);
    const r = await run(bin, ["services", "-o", "json"]);
    expect(r.stderr).toMatch(/berth launcher: main\.js \(berth\.blob\.stamp names another node or blob/);
    expect(r.code, r.stderr).toBe(0);
    // Another node binary first on PATH (an upgraded Node): the built CLI's own blob is not used with it.
    const nodeDir = join(tmp, "other-node");
    await mkdir(nodeDir, { recursive: true });
    await copyFile(process.execPath, join(nodeDir, "node"));
    const other = await run(BERTH_BIN, ["services", "-o", "json"], { PATH: `${nodeDir}:${process.env.PATH ?? ""}` });
    expect(other.stderr).toMatch(/berth launcher: main\.js \(berth\.blob\.stamp names another node/);
    expect(other.code, other.stderr).toBe(0);
  });

  it("runs main.js with NODE_OPTIONS (V8 flags would make the blob fail to load) and for the daemons", async () => {
    const r = await run(BERTH_BIN, ["services", "-o", "json"], { NODE_OPTIONS: "--max-old-space-size=256" });
    expect(r.stderr).toMatch(/berth launcher: main\.js \(NODE_OPTIONS is set\)/);
    expect(r.code, r.stderr).toBe(0);
    const d = await run(BERTH_BIN, ["--debug", "controller", "--help"]);
    expect(d.stderr).toMatch(/berth launcher: main\.js \(berth controller is not in the snapshot\)/);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/Usage: berth controller/);
  });
});
