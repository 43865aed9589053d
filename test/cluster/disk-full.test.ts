/**
 * A host whose agent data dir fills up says so where operators look: a `host.disk-full`
 * event once, `(full)` in `berth hosts`' DISK FREE, and `host.disk-ok` once space is freed.
 * A real agent on a real tmpfs (root: mount), filled with a real file.
 */
import { execFile } from "node:child_process";
import { mkdir, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DISK_FULL_BYTES } from "../../shared/disk-full.js";
import { Cluster, type EventJson } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";

const exec = promisify(execFile);
const root = process.getuid?.() === 0;

describe.skipIf(!root)("a host whose agent data dir fills up", () => {
  let c: Cluster;
  let mnt: string | undefined;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 1, startAgents: false });
    const dir = c.hostDir(1);
    await mkdir(dir, { recursive: true });
    // Three times the threshold: room enough for the agent's own files, little enough to fill fast.
    await exec("mount", ["-t", "tmpfs", "-o", `size=${(3 * DISK_FULL_BYTES) / 1024 ** 2}m,mode=0700`, "berth-disk-full", dir]);
    mnt = dir;
    c.startAgent(1, { token: await c.joinToken(1) });
    await c.waitForHosts((hs) => hs.filter((h) => h.status === "ready").length === 1, "1 ready host");
  }, 90_000);

  afterAll(async () => {
    // Detached first (lazily: the agent still has files open there), so the cluster's teardown
    // removes an empty folder rather than tripping on a mount point.
    if (mnt) await exec("umount", ["-l", mnt]);
    await c?.destroy();
  });

  const eventOf = (type: string, host: string, after: number): Promise<EventJson> =>
    waitFor(async () => (await c.events()).find((e) => e.type === type && e.host === host && e.seq > after), { timeoutMs: 15_000, intervalMs: 100, what: `a ${type} event for ${host}` });

  it("says it once with a host.disk-full event and (full) in berth hosts, and host.disk-ok once there is room again", { timeout: 60_000 }, async () => {
    const host = await c.hostIdOf(1);
    const before = Math.max(0, ...(await c.events()).map((e) => e.seq));
    const filler = join(mnt!, "filler");
    const s = await statfs(mnt!);
    // Leave half the threshold free.
    await exec("fallocate", ["-l", String(s.bavail * s.bsize - DISK_FULL_BYTES / 2), filler]);

    const full = await eventOf("host.disk-full", host, before);
    expect(full.message).toMatch(new RegExp(`^${host}'s agent data dir has \\d+(\\.\\d+)?MiB free of 192(\\.0)?MiB: fetches, installs, service logs and state files there fail until space is freed$`));
    const table = await c.cli(["hosts"], { env: { NO_COLOR: "1" } });
    expect(table.stdout).toMatch(/\d+(\.\d+)?MiB \(full\)/);

    await rm(filler);
    const ok = await eventOf("host.disk-ok", host, full.seq);
    expect(ok.message).toMatch(new RegExp(`^${host}'s agent data dir has room again \\(\\d+(\\.\\d+)?MiB free\\)$`));
    // Once per episode: one full, one ok.
    const said = (await c.events()).filter((e) => e.seq > before && e.host === host && e.type.startsWith("host.disk-"));
    expect(said.map((e) => e.type)).toEqual(["host.disk-full", "host.disk-ok"]);
    expect((await c.cli(["hosts"], { env: { NO_COLOR: "1" } })).stdout).not.toContain("(full)");
  });
});
