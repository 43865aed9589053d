/**
 * An agent does not keep every artifact it was ever given: once a new one runs, it
 * keeps that one and the `--keep-artifacts` used last, and removes the others with
 * what was installed in them — so a host that takes a new artifact with every
 * deploy does not fill its disk. An artifact removed and given again is fetched,
 * unpacked and installed again (its install is not taken as done), and a deleted
 * service leaves only the spares. Real agent, real files, real install steps.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Cluster } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";

describe("artifacts an agent no longer uses", () => {
  let c: Cluster;
  let app: string;
  let specs: string;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 1, startAgents: false });
    c.startAgent(1, { token: await c.joinToken(1), extraArgs: ["--keep-artifacts", "1"] });
    await c.waitForHosts((hs) => hs.filter((h) => h.status === "ready").length === 1, "1 ready host");
    app = join(c.dir, "app");
    await mkdir(app, { recursive: true });
    // Runs only where its install step ran: a folder unpacked again without it crash-loops.
    await writeFile(join(app, "run.sh"), 'test -f installed || { echo "not installed" >&2; exit 3; }\nexec sleep 100000\n');
    specs = await c.specDir("sweep", {
      "sweep.yaml": "name: sweep\nartifact: ../../app\nrun:\n  command: sh\n  args: [run.sh]\n  stopTimeout: 1s\n  restart: { attempts: 1, delay: 100ms }\ninstall:\n  steps:\n    - run: touch installed\n",
    });
  }, 90_000);

  afterAll(async () => {
    await c?.destroy();
  });

  const blobs = async (): Promise<string[]> => (await readdir(join(c.hostDir(1), "artifacts", "blobs")).catch(() => [])).map((n) => n.replace(/\.tgz$/, "")).sort();
  const unpacked = async (): Promise<string[]> => (await readdir(join(c.hostDir(1), "artifacts", "unpacked")).catch(() => [])).map((n) => n.split("@")[0]!).sort();
  const installedFor = async (): Promise<string[]> => {
    const dir = join(c.hostDir(1), "install", "installed");
    const out: string[] = [];
    for (const k of await readdir(dir).catch(() => [])) out.push((JSON.parse(await readFile(join(dir, k), "utf8")) as { artifact: string }).artifact);
    return out.sort();
  };
  /** Applies the app with `version` in it and waits for that revision to run; returns its digest. */
  const deploy = async (version: string, revision: number): Promise<string> => {
    await writeFile(join(app, "version"), version);
    const r = await c.apply(specs);
    expect(r.code, r.stderr).toBe(0);
    await c.waitForStatus("sweep", (s) => s.instances[0]?.state === "healthy" && s.instances[0].revision === revision, `revision ${revision} healthy`);
    // The digest in use: the blob put (or used) last on the host.
    const dir = join(c.hostDir(1), "artifacts", "blobs");
    const used = await Promise.all((await blobs()).map(async (d) => ({ d, t: (await stat(join(dir, `${d}.tgz`))).mtimeMs })));
    return used.sort((a, b) => b.t - a.t)[0]!.d;
  };
  const holds = (want: string[], what: string): Promise<true> =>
    waitFor(
      async () => {
        const [b, u] = [await blobs(), await unpacked()];
        return JSON.stringify(b) === JSON.stringify([...want].sort()) && JSON.stringify(u) === JSON.stringify([...want].sort()) ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what },
    );

  it("keeps the one in use and the one used last, removes the rest with their installs, and installs again what comes back", { timeout: 180_000 }, async () => {
    const v1 = await deploy("1", 1);
    const v2 = await deploy("2", 2);
    await holds([v1, v2], "v1 and v2 kept (v1 the spare)");
    const v3 = await deploy("3", 3);
    await holds([v2, v3], "v1 removed, v2 the spare");
    expect(await installedFor()).not.toContain(v1);
    expect(await installedFor()).toEqual(expect.arrayContaining([v2, v3]));

    // v1 again: fetched, unpacked and installed afresh (run.sh exits 3 where the install did not run).
    expect(await deploy("1", 4)).toBe(v1);
    await holds([v1, v3], "v1 back, v3 the spare, v2 removed");
    expect(await installedFor()).toEqual(expect.arrayContaining([v1, v3]));
    const st = await c.status("sweep");
    expect(st.instances[0]!.restarts).toBe(0);

    // Deleted: nothing is in use, one spare stays.
    expect((await c.cli(["delete", "sweep"])).code).toBe(0);
    await holds([v1], "only the last used kept after the delete");
  });
});
