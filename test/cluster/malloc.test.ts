// The controller's allocator, as an operator starts it: `berth controller` through the bin's
// launcher runs on jemalloc where it is installed (.ci/run installs Debian's libjemalloc2),
// glibc's malloc when BERTH_MALLOC=glibc, and a BERTH_MALLOC it does not know is refused.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findJemalloc } from "../../shared/malloc.js";
import { BERTH_BIN, terminate } from "./harness/procs.js";
import { parseExposition, select } from "./harness/prometheus.js";
import { waitFor } from "./harness/wait.js";

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe("the controller's allocator", () => {
  const procs: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) await terminate(p, { killAfterMs: 5000 });
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  /** Starts `berth controller` through the bin and reads the allocator its metrics and memory map name. */
  async function startAndRead(env: NodeJS.ProcessEnv): Promise<{ label: string | undefined; mapped: boolean }> {
    const dir = await mkdtemp(join(tmpdir(), "berth-malloc-"));
    dirs.push(dir);
    const metrics = await freePort();
    const ctl = spawn(BERTH_BIN, ["controller", "--data-dir", join(dir, "ctl"), "--listen", `127.0.0.1:${await freePort()}`, "--metrics-addr", `127.0.0.1:${metrics}`, "--ui-addr", "off", "--no-write-config"], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    procs.push(ctl);
    let err = "";
    ctl.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    const text = await waitFor(
      async () => {
        if (ctl.exitCode !== null) throw new Error(`the controller exited ${ctl.exitCode}: ${err}`);
        const r = await fetch(`http://127.0.0.1:${metrics}/metrics`).catch(() => undefined);
        return r?.ok ? r.text() : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "the controller's metrics" },
    );
    const [info] = select(parseExposition(text), "berth_build_info", { component: "controller" });
    // The launcher execs node: the child's pid is the controller's.
    const mapped = (await readFile(`/proc/${ctl.pid}/maps`, "utf8")).includes("libjemalloc");
    return { label: info?.labels.malloc, mapped };
  }

  it("runs on jemalloc where it is installed, and says so in berth_build_info", { timeout: 60_000 }, async () => {
    const env = { BERTH_MALLOC: undefined, LD_PRELOAD: undefined };
    const expected = findJemalloc() ? "jemalloc" : "glibc";
    expect(await startAndRead(env)).toEqual({ label: expected, mapped: expected === "jemalloc" });
  });

  it("runs on glibc's malloc when BERTH_MALLOC=glibc, even with a jemalloc preloaded already", { timeout: 60_000 }, async () => {
    expect(await startAndRead({ BERTH_MALLOC: "glibc", LD_PRELOAD: findJemalloc() })).toEqual({ label: "glibc", mapped: false });
  });

  it("refuses a BERTH_MALLOC it does not know, before starting anything", { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-malloc-"));
    dirs.push(dir);
    const ctl = spawn(BERTH_BIN, ["controller", "--data-dir", join(dir, "ctl"), "--listen", "127.0.0.1:0", "--metrics-addr", "off", "--ui-addr", "off", "--no-write-config"], {
      env: { ...process.env, BERTH_MALLOC: "tcmalloc" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    procs.push(ctl);
    let err = "";
    ctl.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    const code = await waitFor(async () => ctl.exitCode ?? undefined, { timeoutMs: 10_000, intervalMs: 50, what: "the launcher to refuse BERTH_MALLOC=tcmalloc" });
    expect({ code, err: err.trim() }).toEqual({ code: 2, err: "berth: BERTH_MALLOC=tcmalloc: expected auto, jemalloc, glibc" });
    expect(existsSync(join(dir, "ctl"))).toBe(false);
  });
});
