/**
 * aptInstall against the real apt-get and dpkg, with packages from a local flat
 * repository (test/fixtures/deb): no network, and everything installed is purged
 * afterwards. Needs root; skipped (saying so) elsewhere.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AptError, AptPackageSpecError, aptInstall } from "../../../agent/installer/apt.js";
import { DPKG_FRONTEND_LOCK } from "../../../agent/installer/dpkg-lock.js";
import { install } from "../../../agent/installer/installer.js";
import { buildLocalAptRepo, canUseApt, type LocalAptRepo } from "../../fixtures/deb/build-repo.js";
import { waitFor } from "../../cluster/harness/wait.js";
import { childrenNamed, wchan } from "./proc.js";
import { testSpec } from "./spec.js";

const exec = promisify(execFile);
const aptUsable = await canUseApt();
const python = await exec("python3", ["-c", "import fcntl"]).then(
  () => true,
  () => false,
);
if (!aptUsable) console.warn("apt tests skipped: they need root, dpkg-deb and apt-get");

const HELLO = "berth-test-hello";
const helloScript = (v: string): string => `#!/bin/sh\necho "hello from berth ${v}"\n`;

async function installedVersion(name: string): Promise<string | null> {
  const res = await exec("dpkg-query", ["-W", "-f", "${Status} ${Version}", name]).catch(() => null);
  if (res === null || !res.stdout.startsWith("install ok installed ")) return null;
  return res.stdout.slice("install ok installed ".length);
}

describe.skipIf(!aptUsable)("aptInstall (real apt, local repository)", { timeout: 60_000 }, () => {
  let repo: LocalAptRepo | undefined;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-apt-test-"));
    repo = await buildLocalAptRepo(dir, [
      { name: HELLO, version: "1.0", files: { "/usr/local/bin/berth-test-hello": helloScript("1.0") } },
      { name: HELLO, version: "2.0", files: { "/usr/local/bin/berth-test-hello": helloScript("2.0") } },
      { name: "berth-test-locked", version: "1.0", files: { "/usr/local/share/berth-test-locked": "x\n" } },
      { name: "berth-test-app", version: "1.0", depends: HELLO, files: { "/usr/local/share/berth-test-app": "app\n" } },
    ]);
    await repo.installRepo();
  }, 60_000);

  afterAll(async () => {
    await repo?.cleanup();
    for (const name of [HELLO, "berth-test-locked", "berth-test-app", "berth-test-late"]) {
      expect(await installedVersion(name)).toBeNull();
    }
  }, 60_000);

  const opts = (out: string[]): Parameters<typeof aptInstall>[1] => ({
    onOutput: (c) => out.push(c),
    timeoutMs: 60_000,
    updateArgs: repo?.updateArgs ?? [],
  });

  it("installs a package, then skips it without running apt at all", async () => {
    const out: string[] = [];
    const res = await aptInstall([`${HELLO}=1.0`], opts(out));
    expect(res).toEqual({ installed: [`${HELLO}=1.0`], alreadyInstalled: [], updated: false });
    expect(out.join("")).toContain(`Setting up ${HELLO} (1.0)`);
    expect((await exec("/usr/local/bin/berth-test-hello")).stdout).toBe("hello from berth 1.0\n");

    const again: string[] = [];
    const started = Date.now();
    const second = await aptInstall([`${HELLO}=1.0`, HELLO], opts(again));
    expect(second).toEqual({ installed: [], alreadyInstalled: [`${HELLO}=1.0`, HELLO], updated: false });
    expect(again).toEqual([]); // apt-get never ran
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("moves to a pinned version, up and down", async () => {
    await aptInstall([`${HELLO}=2.0`], opts([]));
    expect(await installedVersion(HELLO)).toBe("2.0");
    await aptInstall([`${HELLO}=1.0`], opts([]));
    expect(await installedVersion(HELLO)).toBe("1.0");
  });

  it("installs dependencies from the same sources", async () => {
    await aptInstall(["berth-test-app"], opts([]));
    expect(await installedVersion("berth-test-app")).toBe("1.0");
    expect(await installedVersion(HELLO)).not.toBeNull();
  });

  it("runs apt-get update when a package is not in the lists yet, then retries once", async () => {
    await repo?.addPackages([{ name: "berth-test-late", version: "1.0", files: { "/usr/local/share/berth-test-late": "late\n" } }]);
    const out: string[] = [];
    const res = await aptInstall(["berth-test-late"], opts(out));
    expect(res.updated).toBe(true);
    const text = out.join("");
    expect(text).toContain("E: Unable to locate package berth-test-late");
    expect(text).toContain("running apt-get update and retrying");
    expect(await installedVersion("berth-test-late")).toBe("1.0");
  });

  it("fails with AptError, exit code and output tail, for a package no source has", async () => {
    const err = await aptInstall(["berth-test-does-not-exist"], opts([])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AptError);
    expect(err).toMatchObject({ exitCode: 100, reason: "exit" });
    expect((err as AptError).message).toContain("Unable to locate package berth-test-does-not-exist");
    expect((err as AptError).outputTail).toContain("E: Unable to locate package");
  });

  it("refuses specs that are not package names before running anything", async () => {
    for (const bad of ["-oAPT::Foo=1", "pkg;rm -rf /", "", "Capital"]) {
      await expect(aptInstall([bad], opts([]))).rejects.toBeInstanceOf(AptPackageSpecError);
    }
  });

  it.skipIf(!python)("waits for the dpkg lock instead of failing", async () => {
    // flock(1) takes a BSD lock, which apt does not see: apt uses fcntl locks.
    const holder: ChildProcessByStdio<Writable, Readable, null> = spawn(
      "python3",
      ["-c", `import fcntl,sys\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("locked",flush=True)\nsys.stdin.read()`, DPKG_FRONTEND_LOCK],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    let running: Promise<unknown> | undefined;
    try {
      let holderOut = "";
      holder.stdout.on("data", (b: Buffer) => (holderOut += b.toString()));
      await waitFor(() => holderOut.includes("locked"), { timeoutMs: 10_000, what: "the lock holder to lock" });

      const out: string[] = [];
      const install = aptInstall(["berth-test-locked"], opts(out));
      running = install;
      // apt-get retries the lock once a second and sleeps in between (closing the
      // lock file): asleep while we hold the lock means it is waiting for it.
      // If it gives up instead, that ends the wait at once with apt's error.
      await Promise.race([
        waitFor(
          async () => {
            for (const pid of await childrenNamed("apt-get")) if ((await wchan(pid)).includes("nanosleep")) return true;
            return false;
          },
          { timeoutMs: 20_000, what: "apt-get to wait on the dpkg lock" },
        ),
        install.then(() => {
          throw new Error("apt-get finished while the lock was still held");
        }),
      ]);
      expect(out.join("")).toContain(`[berth] apt: waiting for ${DPKG_FRONTEND_LOCK}, held by pid ${holder.pid ?? "?"} (python3)`);
      expect(await installedVersion("berth-test-locked")).toBeNull();
      holder.stdin.end(); // python reads EOF, exits, and the kernel drops its lock
      const res = await install;
      expect(res.installed).toEqual(["berth-test-locked"]);
      expect(await installedVersion("berth-test-locked")).toBe("1.0");
    } finally {
      // On failure too: release the lock and let apt-get finish before the next test.
      holder.kill("SIGKILL");
      await running?.catch(() => undefined);
    }
  });

  it("install(): apt then steps, and nothing at all the second time", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "berth-apt-install-test-"));
    try {
      await exec("dpkg", ["--purge", "berth-test-app", HELLO]);
      const spec = testSpec({ install: { apt: [HELLO], steps: [{ run: "berth-test-hello > hello.txt", timeoutMs: 10_000 }] } });
      let out = "";
      const first = await install({ spec, artifactDir: null, stateDir, onOutput: (c) => (out += c) });
      expect(first.skipped).toBe(false);
      expect(out).toContain(`Setting up ${HELLO}`);
      expect(await readFile(join(stateDir, "work", "hello.txt"), "utf8")).toMatch(/^hello from berth \d\.0\n$/);
      let again = "";
      expect((await install({ spec, artifactDir: null, stateDir, onOutput: (c) => (again += c) })).skipped).toBe(true);
      expect(again).toBe("");
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
