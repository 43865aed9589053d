/**
 * Secret values on a host (DESIGN.md, "Secrets"): what the controller sent with the
 * assignment, put where the instance finds them and nowhere else — never the
 * instance file, the supervisor's state file or a log line.
 *
 *   environment  <root>/<instance>/env.json, mode 0600: the supervisor reads it at
 *                each launch, so restarts (after an agent restart too) get the values
 *                while its state file holds only the path
 *   files        at the spec's path under /run/secrets/, mode 0400, owned by run.user
 *
 * <root> is on tmpfs where the host has one (/run), so values never reach a disk;
 * otherwise in the agent's data dir (mode 0700). Everything is removed when the
 * instance stops.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { chown, mkdir, rm, writeFile, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { SecretValue__Output } from "../../shared/gen/berth/v1/SecretValue.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import { SECRET_FILE_DIR, SECRET_NAME } from "../../shared/spec/schema.js";

/** The same limit the controller holds values to. */
const MAX_SECRET_BYTES = 64 * 1024;

/** Secret values the assignment should carry and does not, or carries malformed. */
export class SecretMaterialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretMaterialError";
  }
}

/** name → value, as the assignment carries them. */
export type SecretValues = ReadonlyMap<string, Buffer>;

/**
 * The assignment's values, checked against what the spec names: every name it uses
 * present, no value too large, environment values free of NUL (which no environment
 * can carry). The message names the secret, never a value.
 */
export function secretValuesFor(spec: Pick<ServiceSpec, "secrets" | "secretFiles">, sent: readonly SecretValue__Output[]): SecretValues {
  const values = new Map<string, Buffer>();
  for (const s of sent) {
    if (!SECRET_NAME.test(s.name)) throw new SecretMaterialError(`secret ${JSON.stringify(s.name.slice(0, 80))}: not a secret name`);
    if (s.value.length > MAX_SECRET_BYTES) throw new SecretMaterialError(`secret ${s.name}: larger than ${MAX_SECRET_BYTES / 1024} KiB`);
    values.set(s.name, Buffer.from(s.value));
  }
  for (const [env, ref] of Object.entries(spec.secrets)) {
    const v = values.get(ref.secret);
    if (!v) throw new SecretMaterialError(`secrets.${env}: the controller sent no value for secret ${ref.secret} (is it stored? berth secret list)`);
    if (v.includes(0)) throw new SecretMaterialError(`secrets.${env}: secret ${ref.secret} holds a NUL byte, which an environment variable cannot carry: use secretFiles`);
  }
  for (const [path, ref] of Object.entries(spec.secretFiles)) {
    if (!values.has(ref.secret)) throw new SecretMaterialError(`secretFiles.${path}: the controller sent no value for secret ${ref.secret} (is it stored? berth secret list)`);
  }
  return values;
}

/** A value (or a line of one) shorter than this is not masked: it would hide ordinary words. */
export const MASK_MIN_CHARS = 4;
export const MASK = "***";

/**
 * `text` with every secret value in it replaced by `***`, as CI systems mask their logs:
 * the whole value, and each line of a value of several lines (a key file printed line
 * by line), longest first. What an instance prints about its secrets — a crash's last
 * lines, an exec check's output, an install's tail — leaves the host in status reports,
 * which the controller keeps as events and shows to every role; the values must not.
 */
export function maskSecrets(text: string, values: Iterable<Buffer>): string {
  if (text === "") return text;
  const needles = new Set<string>();
  for (const v of values) {
    const whole = v.toString("utf8");
    for (const n of [whole, whole.trim(), ...whole.split(/\r?\n/).map((l) => l.trim())]) if (n.length >= MASK_MIN_CHARS) needles.add(n);
  }
  let out = text;
  for (const n of [...needles].sort((a, b) => b.length - a.length)) if (out.includes(n)) out = out.split(n).join(MASK);
  return out;
}

/** Is `dir` on a tmpfs, by the longest mount point above it in /proc/mounts? */
export function onTmpfs(dir: string, mounts: string): boolean {
  let best = "";
  let type = "";
  for (const line of mounts.split("\n")) {
    const [, mnt, fstype] = line.split(" ");
    if (!mnt || !fstype) continue;
    const m = mnt.replace(/\\040/g, " ");
    if ((dir === m || dir.startsWith(m.endsWith("/") ? m : `${m}/`)) && m.length >= best.length) {
      best = m;
      type = fstype;
    }
  }
  return type === "tmpfs";
}

/**
 * Where this agent keeps secret environments: under /run when /run is a tmpfs (per
 * data dir, so agents sharing a machine in tests never meet), else in the data dir.
 */
export function secretsRoot(dataDir: string, mountsPath = "/proc/mounts"): { dir: string; tmpfs: boolean } {
  let mounts = "";
  try {
    mounts = readFileSync(mountsPath, "utf8");
  } catch {
    // No /proc: no way to tell, so no promise of tmpfs.
  }
  if (onTmpfs("/run", mounts)) return { dir: join("/run", "berth", createHash("sha256").update(dataDir).digest("hex").slice(0, 16)), tmpfs: true };
  return { dir: join(dataDir, "secrets"), tmpfs: false };
}

/**
 * The secret environment file: a JSON object of strings (write() makes it). Read
 * by everything that runs as the service does — the process at each launch, exec
 * health checks, `berth exec --service` — so they all see the same variables.
 */
export function readSecretEnv(file: string): Record<string, string> {
  const raw: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error("not a JSON object");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string") out[k] = v;
  return out;
}

export class SecretMaterial {
  constructor(readonly root: string) {}

  envFile(instance: string): string {
    return join(this.root, instance, "env.json");
  }

  /**
   * Writes the instance's secret environment and files; `owner` (uid, gid) owns the
   * files, the agent the environment. Returns the env file's path ("" when the spec
   * has no env secrets).
   */
  async write(instance: string, spec: Pick<ServiceSpec, "secrets" | "secretFiles">, values: SecretValues, owner: { uid: number; gid: number } | undefined): Promise<string> {
    await this.remove(instance, spec);
    let envFile = "";
    if (Object.keys(spec.secrets).length) {
      envFile = this.envFile(instance);
      await mkdir(dirname(envFile), { recursive: true, mode: 0o700 });
      const env = Object.fromEntries(Object.entries(spec.secrets).map(([k, r]) => [k, values.get(r.secret)!.toString("utf8")]));
      await writeFileAtomicMode(envFile, JSON.stringify(env), 0o600);
    }
    for (const [path, ref] of Object.entries(spec.secretFiles)) {
      if (!path.startsWith(SECRET_FILE_DIR)) throw new SecretMaterialError(`secretFiles.${path}: must be under ${SECRET_FILE_DIR}`);
      // The folders stay the agent's (0755): the process reads the file it owns, and nothing else there is its own.
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await writeFileAtomicMode(path, values.get(ref.secret)!, 0o400, owner);
    }
    return envFile;
  }

  async remove(instance: string, spec: Pick<ServiceSpec, "secretFiles">): Promise<void> {
    await rm(join(this.root, instance), { recursive: true, force: true });
    for (const path of Object.keys(spec.secretFiles)) if (path.startsWith(SECRET_FILE_DIR)) await rm(path, { force: true });
  }
}

/** Written under a temporary name with its final mode and owner, then renamed: never readable by others, never half there. */
async function writeFileAtomicMode(file: string, data: string | Buffer, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await writeFile(tmp, data, { mode, flag: "wx" });
  if (owner) await chown(tmp, owner.uid, owner.gid);
  await rename(tmp, file);
}
