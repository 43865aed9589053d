/**
 * What the CLI loads for a command: an operator command loads the gRPC client
 * and what it uses, never the daemons' world (the controller's LevelDB, the
 * agent's system probes and ptys, the x509 issuing code, the spec parser), and
 * --help loads no gRPC at all. Every one of those costs start-up time on each
 * `berth` run (README, "Performance"). Spawns the real CLI with a loader hook
 * that records every module it loads.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestController, type TestController } from "../api/controller.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const RECORD = fileURLToPath(new URL("./record-modules.ts", import.meta.url));

/** Packages only a daemon (controller, agent, dev) or `apply` needs. */
const DAEMON_ONLY = ["systeminformation", "level", "classic-level", "abstract-level", "node-pty", "prom-client", "@peculiar/x509", "tsyringe", "pino", "zod", "tar"];

/** The node_modules packages a module list names: `@scope/name` or `name`. */
function packages(urls: string[]): Set<string> {
  const out = new Set<string>();
  for (const u of urls) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

describe("the CLI's modules", () => {
  let ctl: TestController;
  let dir: string;
  beforeAll(async () => {
    ctl = await startTestController();
    dir = mkdtempSync(join(tmpdir(), "berth-cli-modules-"));
    writeFileSync(join(dir, "ca.crt"), ctl.handle.caPem);
  });
  afterAll(async () => {
    await ctl?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** Runs the CLI (async: the controller answering it lives in this process). */
  async function loaded(args: string[]): Promise<{ pkgs: Set<string>; status: number | null; stderr: string }> {
    const out = join(dir, `modules-${args.join("_").replace(/\W/g, "")}.txt`);
    writeFileSync(out, "");
    const child = spawn(process.execPath, ["--import", "tsx", "--import", RECORD, join(ROOT, "cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, BERTH_TEST_MODULES_OUT: out, BERTH_ADDR: ctl.target, BERTH_TOKEN: ctl.tokens.viewer, BERTH_CA: join(dir, "ca.crt"), BERTH_CONFIG: join(dir, "no-config"), NO_COLOR: "1" },
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 30_000,
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    return { pkgs: packages(readFileSync(out, "utf8").split("\n")), status, stderr };
  }

  it("an operator command loads no daemon-only package", async () => {
    const r = await loaded(["services"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.pkgs.has("@grpc/grpc-js")).toBe(true); // the hook did see the command's own modules
    expect(DAEMON_ONLY.filter((p) => r.pkgs.has(p))).toEqual([]);
  }, 60_000);

  it("--help loads neither gRPC nor any daemon-only package", async () => {
    const r = await loaded(["--help"]);
    expect(r.status).toBe(0);
    expect(r.pkgs.has("commander")).toBe(true);
    expect([...r.pkgs].filter((p) => p !== "commander" && p !== "tsx" && !p.startsWith("@esbuild"))).toEqual([]);
  }, 60_000);
});
