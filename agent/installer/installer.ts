/**
 * The install hook: apt packages, then the steps, once per (artifact, install)
 * pair. The convergence loop can call install() on every pass: after a success it
 * returns { skipped: true } at the cost of one stat, which is what makes a
 * restarted agent or a re-sent assignment cheap and side-effect free.
 *
 * State under stateDir:
 *   installed/<key>        marker, written last (atomically) after a success
 *   install-<key>.log      the full output of the latest attempt for that key
 *   work/                  the steps' folder when the service has no artifact
 */
import { monoMs } from "../../shared/clock.js";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { PRIVATE_DIR, writeFileAtomic } from "../../shared/state-file.js";
import { join } from "node:path";
import type { ServiceSpec } from "../../shared/spec/types.js";
import { aptInstall } from "./apt.js";
import { effectiveUser } from "../../shared/spec/run-as.js";
import { runSteps } from "./steps.js";
import { DEFAULT_PATH, searchablePath } from "../supervisor/env.js";

export interface InstallOptions {
  spec: ServiceSpec;
  /** the unpacked artifact (the steps' cwd), or null when the service has none */
  artifactDir: string | null;
  stateDir: string;
  onOutput(chunk: string): void;
  signal?: AbortSignal;
  /**
   * Added to the steps' environment last (e.g. BERTH_INSTANCE, BERTH_VERSION).
   * Steps do not inherit the agent's own environment, which may carry its
   * configuration: they get PATH/HOME/LANG, the service's run.env and this.
   */
  env?: Record<string, string>;
  /**
   * Who the steps run as: the service's user (shared/spec/run-as.ts). apt always
   * runs as root, and only for the packages install.apt names. Absent: the agent's user.
   */
  runAs?: { uid: number; gid: number; home: string };
  /** Budget for the apt part, lock waits included. @default 600_000 (10 min) */
  aptTimeoutMs?: number;
}

export interface InstallResult {
  /** true: the marker was there and nothing ran */
  skipped: boolean;
  key: string;
  logPath: string;
}

/**
 * What identifies an install: the artifact's digest and the install section.
 * run.env is not part of it — changing a variable restarts the service but does
 * not re-run the install. Fields are listed explicitly so the key does not depend
 * on the order in which a producer wrote them.
 */
export function installKey(spec: Pick<ServiceSpec, "name" | "artifact" | "install" | "run">): string {
  const install = {
    apt: spec.install.apt,
    steps: spec.install.steps.map((s) => ({ run: s.run, timeoutMs: s.timeoutMs })),
  };
  // The user too: each user has its own copy of the artifact (artifacts/cache.ts), where its steps ran.
  return createHash("sha256")
    .update(`${spec.artifact?.sha256 ?? ""}\n${JSON.stringify(install)}\n${effectiveUser(spec)}`)
    .digest("hex");
}

export function installLogPath(stateDir: string, key: string): string {
  return join(stateDir, `install-${key}.log`);
}

export function installMarkerPath(stateDir: string, key: string): string {
  return join(stateDir, "installed", key);
}

/**
 * Forgets the installs done in the artifacts given (their markers, then their
 * logs): the artifact cache is removing those folders, and an install marked done
 * must never stand for a folder unpacked afresh. Returns how many were forgotten.
 * A marker that cannot be read names no artifact we could match: it stays.
 */
export async function forgetInstalls(stateDir: string, artifacts: ReadonlySet<string>): Promise<number> {
  const dir = join(stateDir, "installed");
  let keys: string[];
  try {
    keys = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
  let forgotten = 0;
  for (const key of keys) {
    let artifact: unknown;
    try {
      artifact = (JSON.parse(await readFile(join(dir, key), "utf8")) as { artifact?: unknown }).artifact;
    } catch {
      continue;
    }
    if (typeof artifact !== "string" || !artifacts.has(artifact)) continue;
    await rm(join(dir, key), { force: true });
    await rm(installLogPath(stateDir, key), { force: true });
    forgotten++;
  }
  return forgotten;
}

export async function install(opts: InstallOptions): Promise<InstallResult> {
  const { spec, stateDir } = opts;
  const key = installKey(spec);
  const logPath = installLogPath(stateDir, key);
  const marker = installMarkerPath(stateDir, key);
  if (await exists(marker)) return { skipped: true, key, logPath };

  // Owner-only: the markers hold the install spec, the log its output.
  await mkdir(join(stateDir, "installed"), { recursive: true, mode: PRIVATE_DIR });
  const log = createWriteStream(logPath, { flags: "w", mode: 0o640 });
  let logError: unknown;
  // A full disk must not turn a good install into a failed one: the log is a
  // convenience, the marker is what counts.
  log.on("error", (err) => (logError ??= err));
  const emit = (chunk: string): void => {
    if (logError === undefined) log.write(chunk);
    opts.onOutput(chunk);
  };

  const started = monoMs();
  try {
    emit(`[berth] install ${spec.name}: artifact ${spec.artifact?.sha256.slice(0, 12) ?? "none"}, key ${key.slice(0, 12)}\n`);
    if (spec.install.apt.length > 0) {
      emit(`[berth] apt: ${spec.install.apt.join(" ")}\n`);
      const res = await aptInstall(spec.install.apt, { onOutput: emit, timeoutMs: opts.aptTimeoutMs ?? 600_000, signal: opts.signal });
      if (res.installed.length === 0) emit("[berth] apt: all packages already installed\n");
    }
    if (spec.install.steps.length > 0) {
      const cwd = opts.artifactDir ?? join(stateDir, "work");
      await mkdir(cwd, { recursive: true });
      const n = spec.install.steps.length;
      await runSteps(spec.install.steps, {
        cwd,
        env: stepEnv(spec, opts.env ?? {}, opts.runAs),
        ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
        onOutput: emit,
        signal: opts.signal,
        onStepStart: (i, step) => emit(`[berth] step ${i + 1}/${n}: ${step.run}\n`),
      });
    }
    await writeFileAtomic(marker, `${JSON.stringify({ service: spec.name, artifact: spec.artifact?.sha256 ?? null, install: spec.install, finishedAt: new Date().toISOString() })}\n`);
    emit(`[berth] install done in ${((monoMs() - started) / 1000).toFixed(1)} s\n`);
    return { skipped: false, key, logPath };
  } catch (err) {
    emit(`[berth] install failed after ${((monoMs() - started) / 1000).toFixed(1)} s: ${err instanceof Error ? err.message : String(err)}\n`);
    throw err;
  } finally {
    if (logError === undefined) await new Promise<void>((resolve) => log.end(resolve));
    else log.destroy();
  }
}

function stepEnv(spec: ServiceSpec, extra: Record<string, string>, runAs: { uid: number; gid: number; home?: string } | undefined): Record<string, string> {
  // The steps run as the service's user: only the PATH folders it may search, as the service gets.
  const base: Record<string, string> = { PATH: searchablePath(process.env.PATH || DEFAULT_PATH, runAs), HOME: runAs?.home ?? process.env.HOME ?? "/root" };
  for (const name of ["LANG", "LC_ALL", "TZ"] as const) {
    const v = process.env[name];
    if (v !== undefined) base[name] = v;
  }
  // A step that calls apt-get or debconf itself must not stop at a prompt nobody sees.
  base.DEBIAN_FRONTEND = "noninteractive";
  return { ...base, ...spec.run.env, BERTH_SERVICE: spec.name, ...extra };
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
