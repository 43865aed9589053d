/**
 * Where the CLI finds its controller, token and CA: flags, then BERTH_ADDR /
 * BERTH_TOKEN / BERTH_CA, then the config file that `berth dev` and
 * `berth controller` write for the local user ($BERTH_CONFIG, else
 * $XDG_CONFIG_HOME/berth/config.json, else ~/.config/berth/config.json).
 *
 * The address may name every member of a controller group: "a:7420,b:7420"
 * (in the file also a list); each call goes to whichever answers (cli/client.ts).
 */
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError, EXIT } from "./errors.js";
import { formatMemberList, parseMemberList } from "../shared/members.js";

export interface ClientConfig {
  /** HOST:PORT, or the members of a controller group, comma-separated. */
  addr: string;
  token: string;
  /** The controller's CA certificate, PEM. */
  ca: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_CONFIG) return env.BERTH_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "berth", "config.json");
}

export async function readConfigFile(path = configPath()): Promise<Partial<ClientConfig> | undefined> {
  try {
    const raw = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    const pick = (k: string): string | undefined => (typeof raw[k] === "string" ? raw[k] : undefined);
    // "addr": "a:7420,b:7420" or ["a:7420", "b:7420"]
    const addr = Array.isArray(raw.addr) && raw.addr.every((x) => typeof x === "string") ? raw.addr.join(",") : pick("addr");
    return { addr, token: pick("token"), ca: pick("ca") };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`, EXIT.usage, "fix or remove the file");
  }
}

export async function writeConfigFile(cfg: ClientConfig, path = configPath()): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  // It holds a bearer token: only its owner may read it.
  await writeFile(tmp, JSON.stringify(cfg, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, path);
  return path;
}

export async function resolveClientConfig(flags: { addr?: string }, env: NodeJS.ProcessEnv = process.env): Promise<ClientConfig> {
  const file = await readConfigFile(configPath(env));
  const [addrFrom, rawAddr] = flags.addr !== undefined ? ["--addr", flags.addr] : env.BERTH_ADDR !== undefined ? ["BERTH_ADDR", env.BERTH_ADDR] : [`${configPath(env)}: addr`, file?.addr];
  let addr: string | undefined;
  if (rawAddr !== undefined && rawAddr !== "") {
    // Validated here, where we can say where it came from.
    try {
      addr = formatMemberList(parseMemberList(rawAddr));
    } catch (e) {
      throw new CliError(`${addrFrom}: ${(e as Error).message}`, EXIT.usage);
    }
  }
  const rawToken = env.BERTH_TOKEN ?? file?.token;
  // A token read from a file with its line end ("$(cat token)\r", a CRLF file) is the token: trimmed.
  // Anything else no token holds is refused here, naming where it came from and never echoing it
  // (grpc-js would refuse it as a header value, printing the whole token in its message).
  const token = typeof rawToken === "string" ? rawToken.trim() : rawToken;
  if (typeof token === "string" && /[^\x21-\x7e]/.test(token)) {
    throw new CliError(`${env.BERTH_TOKEN !== undefined ? "BERTH_TOKEN" : `${configPath(env)}: token`}: not a berth token (it holds a space or control character)`, EXIT.usage, "give the token alone, as `berth token create` printed it");
  }
  let ca = file?.ca;
  if (env.BERTH_CA) {
    try {
      ca = await readFile(env.BERTH_CA, "utf8");
    } catch (e) {
      throw new CliError(`cannot read BERTH_CA=${env.BERTH_CA}: ${(e as Error).message}`, EXIT.usage);
    }
  }
  const missing = [!addr && "the controller address (--addr or BERTH_ADDR)", !token && "a token (BERTH_TOKEN)", !ca && "the controller's CA (BERTH_CA=path/to/ca.crt)"].filter(Boolean);
  if (missing.length) {
    throw new CliError(
      `don't know ${missing.join(", ")}`,
      EXIT.usage,
      `start a local fleet with \`berth dev\`, or set them; ${configPath(env)} is read too`,
    );
  }
  return { addr: addr!, token: token!, ca: ca! };
}

/**
 * Stores a new trust bundle where this CLI read its CA (a CA rotation): the file
 * BERTH_CA names, else the config file's "ca" (its other fields kept as they are).
 * Each replaced whole (write, then rename). Returns the path written, or undefined
 * when the CA came from neither.
 */
export async function storeTrustedCa(caPem: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const replace = async (path: string, text: string, mode: number): Promise<void> => {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, text, { mode });
    await rename(tmp, path);
  };
  if (env.BERTH_CA) {
    // Its mode as it was (a CA certificate is public: 0644 for a new one).
    const mode = (await stat(env.BERTH_CA).catch(() => undefined))?.mode;
    await replace(env.BERTH_CA, caPem.trimEnd() + "\n", mode === undefined ? 0o644 : mode & 0o777);
    return env.BERTH_CA;
  }
  const path = configPath(env);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`, EXIT.usage, "fix or remove the file");
  }
  if (typeof raw.ca !== "string") return undefined;
  // It holds a bearer token: only its owner may read it.
  await replace(path, JSON.stringify({ ...raw, ca: caPem }, null, 2) + "\n", 0o600);
  return path;
}
