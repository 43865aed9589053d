/**
 * Installs Debian packages with apt-get, unattended and idempotent.
 *
 * - Packages already installed (at the pinned version, for `name=version`) are
 *   skipped by asking dpkg first; when all are, apt-get is not run at all, so a
 *   converged host pays one dpkg-query (~10 ms) and takes no lock.
 * - Never prompts: DEBIAN_FRONTEND=noninteractive, -y, and dpkg keeps existing
 *   config files (--force-confdef --force-confold) instead of asking.
 * - Waits for the dpkg lock (unattended-upgrades, an operator's apt) instead of
 *   failing: DPkg::Lock::Timeout (apt >= 1.9.11) with the time left.
 * - Runs `apt-get update` only when apt says a package or version is unknown or
 *   its file is gone from the mirror (stale lists), then retries once; a host with
 *   fresh lists never touches the network for metadata.
 * - Recovers once from an interrupted dpkg (a previous install killed halfway)
 *   with `dpkg --configure -a`.
 */
import { monoMs } from "../../shared/clock.js";
import { runCommand, type CommandResult } from "./command.js";
import { APT_LISTS_LOCK, DPKG_FRONTEND_LOCK, DPKG_LOCK, lockHolder, waitForLockFree } from "./dpkg-lock.js";

export interface AptOptions {
  onOutput(chunk: string): void;
  /** for the whole call: dpkg-query, lock waits, update, install and retries */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Extra arguments for `apt-get update`, e.g. `-o Dir::Etc::sourcelist=…` to
   * refresh only some sources. @default [] (all sources)
   */
  updateArgs?: string[];
}

export interface AptResult {
  /** the specs handed to apt-get install (empty when all were present) */
  installed: string[];
  /** the specs dpkg already had */
  alreadyInstalled: string[];
  /** whether `apt-get update` ran */
  updated: boolean;
}

/** apt-get (or dpkg) failed, timed out or was aborted. */
export class AptError extends Error {
  override name = "AptError";
  constructor(
    message: string,
    readonly command: string[],
    /** null when the process was ended by a signal */
    readonly exitCode: number | null,
    readonly reason: "exit" | "timeout" | "aborted",
    /** the end of apt's output, where its E: lines are */
    readonly outputTail: string,
  ) {
    super(message);
  }
}

/** A package spec that is not `name[:arch][=version | /release]`. */
export class AptPackageSpecError extends Error {
  override name = "AptPackageSpecError";
  constructor(readonly spec: string) {
    super(`not a Debian package spec (name[:arch][=version|/release]): ${JSON.stringify(spec)}`);
  }
}

interface PackageSpec {
  text: string;
  name: string;
  arch?: string;
  version?: string;
  release?: string;
}

// Debian policy 5.6.1 (names) and 5.6.12 (versions); the leading character class
// also keeps a spec from ever being read as an apt-get option.
const SPEC_RE = /^([a-z0-9][a-z0-9+.-]+)(?::([a-z0-9-]+))?(?:=([0-9][A-Za-z0-9.+~:-]*)|\/([A-Za-z0-9.+~-]+))?$/;

export function parsePackageSpec(text: string): PackageSpec {
  const m = SPEC_RE.exec(text);
  if (m === null) throw new AptPackageSpecError(text);
  const [, name = "", arch, version, release] = m;
  return { text, name, arch, version, release };
}

const APT_ENV = {
  DEBIAN_FRONTEND: "noninteractive",
  // Stable English messages: the recovery decisions below match apt's E: lines.
  LC_ALL: "C.UTF-8",
  // apt-listchanges would otherwise page changelogs during upgrades.
  APT_LISTCHANGES_FRONTEND: "none",
};

const NOT_FOUND_RE =
  /^E: (Unable to locate package |Version '.*' for '.*' was not found|Release '.*' for '.*' was not found|Package '.*' has no installation candidate|Unable to fetch some archives|Failed to fetch )/m;
const DPKG_INTERRUPTED_RE = /dpkg was interrupted, you must manually run '(sudo )?dpkg --configure -a'/;
const LISTS_LOCKED_RE = /^E: Could not get lock \/var\/lib\/apt\/lists\/lock/m;

export async function aptInstall(packages: string[], opts: AptOptions): Promise<AptResult> {
  const specs = packages.map(parsePackageSpec);
  const deadline = monoMs() + opts.timeoutMs;
  if (specs.length === 0) return { installed: [], alreadyInstalled: [], updated: false };

  const missing = await notInstalled(specs, opts, deadline);
  const alreadyInstalled = specs.filter((s) => !missing.includes(s)).map((s) => s.text);
  if (missing.length === 0) return { installed: [], alreadyInstalled, updated: false };

  const env = { ...process.env, ...APT_ENV };
  const names = missing.map((s) => s.text);
  let updated = false;
  let reconfigured = false;
  while (true) {
    await noticeLockHolder(opts);
    const lockSeconds = Math.max(1, Math.ceil((deadline - monoMs()) / 1000));
    const args = [
      "install",
      "-y",
      "-o",
      `DPkg::Lock::Timeout=${lockSeconds}`,
      "-o",
      "Dpkg::Options::=--force-confdef",
      "-o",
      "Dpkg::Options::=--force-confold",
      // Only matters for `name=version` pins below what is installed: the spec
      // asked for that version, so going down is the intent, not an accident.
      "--allow-downgrades",
      "--",
      ...names,
    ];
    const res = await run("apt-get", args, env, opts, deadline);
    if (res.reason === "exit" && res.exitCode === 0) return { installed: names, alreadyInstalled, updated };
    if (res.reason === "exit" && !updated && NOT_FOUND_RE.test(res.output)) {
      opts.onOutput("[berth] apt: a package or version is not in the package lists; running apt-get update and retrying\n");
      await aptUpdate(env, opts, deadline);
      updated = true;
      continue;
    }
    if (res.reason === "exit" && !reconfigured && DPKG_INTERRUPTED_RE.test(res.output)) {
      opts.onOutput("[berth] apt: an earlier dpkg run was interrupted; running dpkg --configure -a and retrying\n");
      const fix = await run("dpkg", ["--configure", "-a"], env, opts, deadline);
      throwUnlessOk(["dpkg", "--configure", "-a"], fix);
      reconfigured = true;
      continue;
    }
    throwUnlessOk(["apt-get", ...args], res);
  }
}

/**
 * The specs dpkg does not have installed as asked. A name dpkg has never heard of
 * makes dpkg-query exit 1 but still report the others, so its exit code is not an
 * error here. `/release` specs always go to apt: dpkg cannot tell which release an
 * installed version came from, and apt is a quick no-op when it is already there.
 */
async function notInstalled(specs: PackageSpec[], opts: AptOptions, deadline: number): Promise<PackageSpec[]> {
  const format = "${Package}\\t${Architecture}\\t${Status}\\t${Version}\\n";
  const names = [...new Set(specs.map((s) => (s.arch === undefined ? s.name : `${s.name}:${s.arch}`)))];
  const res = await run("dpkg-query", ["-W", "-f", format, "--", ...names], { ...process.env, ...APT_ENV }, { ...opts, onOutput: () => undefined }, deadline);
  if (res.reason !== "exit" || (res.exitCode !== 0 && res.exitCode !== 1)) {
    throwUnlessOk(["dpkg-query", "-W", ...names], res);
  }
  const rows = res.output
    .split("\n")
    .map((l) => l.split("\t"))
    .filter((f) => f.length === 4 && f[2] === "install ok installed");
  return specs.filter((s) => {
    if (s.release !== undefined) return true;
    const ok = rows.some(
      ([pkg, arch, , version]) =>
        pkg === s.name && (s.arch === undefined || arch === s.arch) && (s.version === undefined || version === s.version),
    );
    return !ok;
  });
}

/**
 * `apt-get update`, waiting for the lists lock (which apt itself does not wait
 * for). Other failures — one unreachable mirror, say — are not fatal: the retried
 * install then says what is really missing.
 */
async function aptUpdate(env: NodeJS.ProcessEnv, opts: AptOptions, deadline: number): Promise<void> {
  while (true) {
    const res = await run("apt-get", ["update", ...(opts.updateArgs ?? [])], env, opts, deadline);
    if (res.reason === "exit" && res.exitCode === 0) return;
    if (res.reason === "exit" && LISTS_LOCKED_RE.test(res.output) && monoMs() < deadline) {
      const holder = await lockHolder(APT_LISTS_LOCK);
      opts.onOutput(`[berth] apt: waiting for ${APT_LISTS_LOCK}${holder === null ? "" : `, held by pid ${holder.pid} (${holder.comm})`}\n`);
      if (await waitForLockFree(APT_LISTS_LOCK, deadline, opts.signal)) continue;
    }
    if (res.reason !== "exit" || LISTS_LOCKED_RE.test(res.output)) throwUnlessOk(["apt-get", "update"], res);
    opts.onOutput(`[berth] apt: apt-get update exited with ${res.exitCode ?? res.signal ?? "?"}; trying the install anyway\n`);
    return;
  }
}

/** apt-get is silent about lock waits when not on a terminal; say who we wait for. */
async function noticeLockHolder(opts: AptOptions): Promise<void> {
  for (const path of [DPKG_FRONTEND_LOCK, DPKG_LOCK]) {
    const holder = await lockHolder(path);
    if (holder !== null && holder.pid !== process.pid) {
      opts.onOutput(`[berth] apt: waiting for ${path}, held by pid ${holder.pid} (${holder.comm})\n`);
      return;
    }
  }
}

async function run(file: string, args: string[], env: NodeJS.ProcessEnv, opts: AptOptions, deadline: number): Promise<CommandResult> {
  const command = [file, ...args];
  if (opts.signal?.aborted === true) throw new AptError(`${file}: aborted`, command, null, "aborted", "");
  const timeoutMs = deadline - monoMs();
  if (timeoutMs <= 0) throw new AptError(`${file}: timed out before it could start`, command, null, "timeout", "");
  try {
    return await runCommand(file, args, { env, onOutput: opts.onOutput, timeoutMs, signal: opts.signal });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new AptError(`${file}: ${message}`, command, null, "exit", "");
  }
}

function throwUnlessOk(command: string[], res: CommandResult): void {
  if (res.reason === "exit" && res.exitCode === 0) return;
  const what =
    res.reason === "timeout"
      ? "timed out"
      : res.reason === "aborted"
        ? "was aborted"
        : res.exitCode !== null
          ? `exited with ${res.exitCode}`
          : `was killed by ${res.signal ?? "a signal"}`;
  const lastError = /^E: .*$/m.exec(res.tail)?.[0];
  throw new AptError(
    `${command.slice(0, 2).join(" ")} ${what}${lastError === undefined ? "" : `: ${lastError}`}`,
    command,
    res.exitCode,
    res.reason,
    res.tail,
  );
}
