/**
 * `berth dev` (what `npm start` runs): a controller and N agents as real
 * processes on 127.0.0.x, the CLI set up for them, Ctrl-C stops every process,
 * and running it again brings the same fleet back without new joins.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BERTH_MAIN } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const addr = srv.address();
  await new Promise((r) => srv.close(r));
  if (!addr || typeof addr === "string") throw new Error("no port");
  return addr.port;
}

/** Processes whose command line mentions dir: what a dev fleet in dir has running. */
function processesUsing(dir: string): string[] {
  try {
    return execFileSync("pgrep", ["-af", dir], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe("berth dev", () => {
  let dir = "";
  let dev: ChildProcess | undefined;

  afterAll(async () => {
    if (dev && dev.exitCode === null) dev.kill("SIGKILL");
    for (const line of processesUsing(dir)) process.kill(Number(line.split(" ")[0]), "SIGKILL");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function startDev(port: number, metricsPort: number): { proc: ChildProcess; out: () => string } {
    let out = "";
    const proc = spawn(process.execPath, [BERTH_MAIN, "dev", "--hosts", "2", "--data-dir", join(dir, "fleet"), "--port", String(port), "--metrics-port", String(metricsPort)], {
      env: { ...process.env, XDG_CONFIG_HOME: join(dir, "xdg"), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    return { proc, out: () => out };
  }

  async function cliHosts(): Promise<{ id: string; status: string; address: string }[]> {
    const r = execFileSync(process.execPath, [BERTH_MAIN, "hosts", "-o", "json"], { env: { ...process.env, XDG_CONFIG_HOME: join(dir, "xdg") }, encoding: "utf8" });
    return JSON.parse(r) as { id: string; status: string; address: string }[];
  }

  it("starts a fleet, sets the CLI up for it, stops every process on Ctrl-C, and comes back the same", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-dev-"));
    const port = await freePort();
    // The controller's metrics on 127.0.0.1:P, each agent's on its own 127.0.0.x:P+1.
    const metricsPort = await freePort();
    const first = startDev(port, metricsPort);
    dev = first.proc;
    await waitFor(() => first.out().includes("A local fleet is running"), { timeoutMs: 60_000, intervalMs: 100, what: `berth dev to come up; output so far:\n${first.out()}` });
    const cfg = JSON.parse(await readFile(join(dir, "xdg", "berth", "config.json"), "utf8")) as { addr: string };
    expect(cfg.addr).toBe(`127.0.0.1:${port}`);
    const hosts = await cliHosts();
    expect(hosts.map((h) => [h.address, h.status]).sort()).toEqual([
      ["127.0.0.2", "ready"],
      ["127.0.0.3", "ready"],
    ]);
    expect(processesUsing(dir)).toHaveLength(1 + 1 + 2); // berth dev, controller, 2 agents
    const ctlMetrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(ctlMetrics).toMatch(/^berth_hosts\{status="ready"\} 2$/m);
    for (const a of ["127.0.0.2", "127.0.0.3"]) expect(await (await fetch(`http://${a}:${metricsPort + 1}/metrics`)).text()).toMatch(/^berth_agent_connected 1$/m);

    const exited = new Promise<number | null>((r) => first.proc.once("exit", (code) => r(code)));
    first.proc.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(processesUsing(dir)).toEqual([]);

    const second = startDev(port, metricsPort);
    dev = second.proc;
    await waitFor(() => second.out().includes("A local fleet is running"), { timeoutMs: 60_000, intervalMs: 100, what: "berth dev to come back" });
    const again = await cliHosts();
    expect(again.map((h) => h.id).sort()).toEqual(hosts.map((h) => h.id).sort());
    const done = new Promise((r) => second.proc.once("exit", r));
    second.proc.kill("SIGTERM");
    await done;
    expect(processesUsing(dir)).toEqual([]);
  });
});
