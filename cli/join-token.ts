/**
 * Where the agent's join token comes from. Never argv if it can be helped: every
 * local user can read a process's argv (`ps`), not its environment or a 0600 file.
 */
import { readFile, stat } from "node:fs/promises";
import { CliError, EXIT } from "./errors.js";

/** A join token is at most this long (shared/token-format.ts refuses longer ones too). */
const MAX_TOKEN_FILE_BYTES = 1024;

/**
 * The agent's join token, from (first found) --token, --token-file, BERTH_JOIN_TOKEN,
 * agent.yaml's tokenFile, then its token, and where it came from, for an error about it
 * ("--token-file ./join.token"). --token works but warns: argv is readable by every local
 * user (`ps`), the environment and a 0600 file are not.
 */
export async function joinToken(src: { flag?: string; flagFile?: string; env?: string; file?: string; fileTokenFile?: string; envName?: string }): Promise<{ token: string; from: string } | undefined> {
  if (src.flag !== undefined) {
    process.stderr.write(`warning: --token puts the token in argv, where every user of this machine can read it (ps); use --token-file PATH or ${src.envName ?? "BERTH_JOIN_TOKEN"}\n`);
    return { token: src.flag, from: "--token" };
  }
  const path = src.flagFile ?? (src.env ? undefined : src.fileTokenFile);
  if (path !== undefined) {
    const what = src.flagFile !== undefined ? "--token-file" : "tokenFile";
    let text: string;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new Error("not a regular file");
      if (st.size > MAX_TOKEN_FILE_BYTES) throw new Error(`${st.size} bytes: a join token is under ${MAX_TOKEN_FILE_BYTES}`);
      text = (await readFile(path, "utf8")).trim();
    } catch (e) {
      throw new CliError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, EXIT.usage);
    }
    if (!text) throw new CliError(`${what} ${path}: the file is empty`, EXIT.usage);
    return { token: text, from: `${what} ${path}` };
  }
  if (src.env) return { token: src.env.trim(), from: src.envName ?? "BERTH_JOIN_TOKEN" };
  return src.file === undefined ? undefined : { token: src.file, from: "the config file's token" };
}
