import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { forgetInstalls, install, installKey, installLogPath, installMarkerPath } from "../../../agent/installer/installer.js";
import { StepError } from "../../../agent/installer/steps.js";
import { testSpec } from "./spec.js";

let work: string;
let stateDir: string;
let artifactDir: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-installer-test-"));
  stateDir = join(work, "state");
  artifactDir = join(work, "artifact");
  await mkdir(artifactDir);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const artifact = { kind: "stored" as const, sha256: "a".repeat(64), source: "./build" };

describe("install", () => {
  it("runs the steps once, then skips while artifact and install are unchanged", async () => {
    const spec = testSpec({ artifact, install: { steps: [{ run: "echo ran >> count; echo step output", timeoutMs: 5000 }] } });
    let out = "";
    const first = await install({ spec, artifactDir, stateDir, onOutput: (c) => (out += c) });
    expect(first).toEqual({ skipped: false, key: installKey(spec), logPath: installLogPath(stateDir, installKey(spec)) });
    expect(out).toContain("step output");
    expect(await readFile(join(artifactDir, "count"), "utf8")).toBe("ran\n");
    const log = await readFile(first.logPath, "utf8");
    expect(log).toBe(out);
    expect(log).toContain("[berth] step 1/1: echo ran >> count; echo step output");
    const marker = JSON.parse(await readFile(installMarkerPath(stateDir, first.key), "utf8")) as { service: string; artifact: string };
    expect(marker).toMatchObject({ service: "web", artifact: artifact.sha256 });

    let again = "";
    const second = await install({ spec, artifactDir, stateDir, onOutput: (c) => (again += c) });
    expect(second).toMatchObject({ skipped: true, key: first.key });
    expect(again).toBe("");
    expect(await readFile(join(artifactDir, "count"), "utf8")).toBe("ran\n");
    // the log of the install that happened stays for `berth logs --install`
    expect(await readFile(first.logPath, "utf8")).toBe(log);
  });

  it("installs again when the artifact or the install section changes, but not for run.env", async () => {
    const steps = [{ run: "echo ran >> count", timeoutMs: 5000 }];
    const base = testSpec({ artifact, install: { steps } });
    const run = (spec: typeof base): Promise<{ skipped: boolean }> => install({ spec, artifactDir, stateDir, onOutput: () => undefined });
    expect((await run(base)).skipped).toBe(false);
    expect((await run({ ...base, run: { ...base.run, env: { X: "1" } } })).skipped).toBe(true);
    expect((await run({ ...base, artifact: { ...artifact, sha256: "b".repeat(64) } })).skipped).toBe(false);
    expect((await run({ ...base, install: { apt: [], steps: [{ run: "echo ran >> count", timeoutMs: 6000 }] } })).skipped).toBe(false);
    expect((await readdir(join(stateDir, "installed"))).length).toBe(3);
  });

  it("keys on content, not on the order a producer wrote fields in", () => {
    const a = testSpec({ artifact, install: { steps: [{ run: "x", timeoutMs: 1 }] } });
    const reordered = { ...a, install: { steps: [{ timeoutMs: 1, run: "x" }], apt: [] } };
    expect(installKey(reordered)).toBe(installKey(a));
    expect(installKey(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(installKey(testSpec())).not.toBe(installKey(a));
  });

  it("writes no marker when a step fails, so the next pass tries again", async () => {
    const spec = testSpec({
      artifact,
      install: {
        steps: [
          { run: "echo ran >> count", timeoutMs: 5000 },
          { run: "test -f fixed || { echo 'not yet'; exit 7; }", timeoutMs: 5000 },
        ],
      },
    });
    const err = await install({ spec, artifactDir, stateDir, onOutput: () => undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StepError);
    expect(err).toMatchObject({ index: 1, exitCode: 7 });
    await expect(stat(installMarkerPath(stateDir, installKey(spec)))).rejects.toMatchObject({ code: "ENOENT" });
    const log = await readFile(installLogPath(stateDir, installKey(spec)), "utf8");
    expect(log).toContain("not yet\r\n"); // the step's output (a pty ends lines with \r\n)
    expect(log).toContain("[berth] install failed");

    await rm(join(artifactDir, "count"));
    await writeFile(join(artifactDir, "fixed"), "");
    const ok = await install({ spec, artifactDir, stateDir, onOutput: () => undefined });
    expect(ok.skipped).toBe(false);
    // steps run from the start again: they are expected to be re-runnable
    expect(await readFile(join(artifactDir, "count"), "utf8")).toBe("ran\n");
    // the log holds the latest attempt only
    expect(await readFile(ok.logPath, "utf8")).not.toContain("not yet\r\n");
  });

  it("gives steps the service's env and BERTH_SERVICE, not the agent's", async () => {
    process.env.BERTH_INSTALLER_TEST_SECRET = "agent-only";
    try {
      const spec = testSpec({
        name: "api",
        env: { LOG_LEVEL: "debug" },
        install: { steps: [{ run: 'echo "svc=$BERTH_SERVICE lvl=$LOG_LEVEL ver=$BERTH_VERSION secret=[$BERTH_INSTALLER_TEST_SECRET] pwd=$(pwd)"', timeoutMs: 5000 }] },
      });
      let out = "";
      await install({ spec, artifactDir: null, stateDir, onOutput: (c) => (out += c), env: { BERTH_VERSION: "7" } });
      expect(out).toContain(`svc=api lvl=debug ver=7 secret=[] pwd=${join(stateDir, "work")}`);
    } finally {
      delete process.env.BERTH_INSTALLER_TEST_SECRET;
    }
  });

  it("marks a service with nothing to install as installed", async () => {
    const res = await install({ spec: testSpec(), artifactDir: null, stateDir, onOutput: () => undefined });
    expect(res.skipped).toBe(false);
    expect((await install({ spec: testSpec(), artifactDir: null, stateDir, onOutput: () => undefined })).skipped).toBe(true);
  });
});

describe("forgetInstalls", () => {
  it("forgets the installs done in the artifacts given, marker and log, and no other", async () => {
    const steps = [{ run: "true", timeoutMs: 5000 }];
    const old = testSpec({ artifact: { ...artifact, sha256: "b".repeat(64) }, install: { steps } });
    const kept = testSpec({ artifact, install: { steps } });
    const none = testSpec({ install: { steps } });
    for (const spec of [old, kept, none]) await install({ spec, artifactDir, stateDir, onOutput: () => undefined });
    await writeFile(installMarkerPath(stateDir, "unreadable"), "not json");

    expect(await forgetInstalls(stateDir, new Set(["b".repeat(64)]))).toBe(1);
    await expect(stat(installMarkerPath(stateDir, installKey(old)))).rejects.toThrow(/ENOENT/);
    await expect(stat(installLogPath(stateDir, installKey(old)))).rejects.toThrow(/ENOENT/);
    for (const spec of [kept, none]) await stat(installMarkerPath(stateDir, installKey(spec)));
    await stat(installMarkerPath(stateDir, "unreadable"));
    // Unpacked again, the artifact is installed again.
    expect((await install({ spec: old, artifactDir, stateDir, onOutput: () => undefined })).skipped).toBe(false);
  });

  it("is no error on a host that never installed anything", async () => {
    expect(await forgetInstalls(join(work, "nothing-here"), new Set(["b".repeat(64)]))).toBe(0);
  });
});
