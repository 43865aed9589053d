/**
 * Real dependency installs: a tiny .deb built here, served as a local `file:`
 * apt repository; a service that needs it gets it installed by apt on the host
 * it is placed on, and no other host runs an install for it.
 *
 * The hosts of the namespace harness share one filesystem (and so one dpkg
 * database); what tells them apart is which agent ran apt: each agent's install
 * log and status, and the package being absent before the service was placed.
 */
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "./harness/cluster.js";
import { buildLocalAptRepo, canUseApt, type LocalAptRepo } from "../fixtures/deb/build-repo.js";

const exec = promisify(execFile);
const PKG = "berth-test-greeter";

async function dpkgInstalled(name: string): Promise<boolean> {
  try {
    const { stdout } = await exec("dpkg-query", ["-W", "-f=${Status}", name]);
    return stdout.includes("install ok installed");
  } catch {
    return false;
  }
}

describe.skipIf(process.getuid?.() !== 0)("services: dependencies installed by the real apt (needs root)", () => {
  let c: Cluster | undefined;
  let repo: LocalAptRepo | undefined;

  beforeAll(async () => {
    if (!(await canUseApt())) throw new Error("apt-get is not usable here");
    repo = await buildLocalAptRepo(await mkdtemp(join(tmpdir(), "berth-apt-")), [
      { name: PKG, version: "1.0.0", files: { "/usr/local/bin/berth-test-greeter": "#!/bin/sh\necho \"greetings from $(hostname) as $BERTH_INSTANCE\"\nexec sleep 100000\n" } },
    ]);
    await repo.installRepo();
    c = await Cluster.start({ hosts: 3 });
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    await c?.destroy();
    await repo?.cleanup();
  });

  it("installs the package on the host the service lands on, and only there", async () => {
    expect(await dpkgInstalled(PKG)).toBe(false);
    const dir = await c!.specDir("greeter", {
      "greeter.yaml": `name: greeter
install:
  apt: [${PKG}]
  steps:
    - { run: "echo step ran in $(pwd)", timeout: 30s }
run:
  command: berth-test-greeter
instances: 1
`,
    });
    const r = await c!.apply(dir);
    expect(r.code, r.stderr).toBe(0);
    const st = await c!.waitForStatus("greeter", (s) => s.instances[0]?.state === "healthy", "greeter running", 120_000);
    const placed = st.instances[0]!.host;
    expect(await dpkgInstalled(PKG)).toBe(true);

    const install = await c!.cli(["logs", "greeter", "--install", "--host", placed]);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(new RegExp(`Setting up ${PKG} \\(1\\.0\\.0\\)`));
    expect(install.stdout).toContain("step ran in");
    const out = await c!.cli(["logs", "greeter", "--host", placed]);
    expect(out.stdout).toContain("greetings from");

    // The other hosts ran no install: their agents hold no install log at all.
    const hosts = await c!.hosts();
    for (const h of hosts.filter((x) => x.id !== placed)) {
      const i = [1, 2, 3].find((n) => c!.topo.hostAddr(n) === h.address)!;
      await expect(exec("ls", [join(c!.hostDir(i), "install")])).rejects.toThrow();
    }
    expect((await c!.cli(["delete", "greeter"])).code).toBe(0);
  });
});
