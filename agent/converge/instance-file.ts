/**
 * The converger's record of the instance it started (<dataDir>/instance/current.json):
 * the assignment and the working dir, so a restarted agent re-adopts the process
 * rather than restarting it. Written atomically and 0600 (it holds the spec and its
 * environment), checked on read: a file that is not whole or not valid is an
 * InstanceFileError, never a silently forgotten process.
 */
import { readFile, rm } from "node:fs/promises";
import { z } from "zod";
import { writeFileAtomic } from "../../shared/state-file.js";
import { checkWireSpec } from "../../shared/spec/wire.js";
import type { ServiceSpec } from "../../shared/spec/types.js";

const count = z.number().int().min(0);

const instanceFileSchema = z.object({
  service: z.string().min(1),
  instance: z.string().min(1),
  epoch: count,
  revision: count,
  spec: z.unknown(),
  cwd: z.string().min(1),
});

export interface InstanceRecord {
  service: string;
  instance: string;
  epoch: number;
  revision: number;
  spec: ServiceSpec;
  cwd: string;
}

/** The file exists but cannot be trusted; `file` names it. */
export class InstanceFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
    this.name = "InstanceFileError";
  }
}

export async function writeInstanceFile(file: string, r: InstanceRecord): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(r) + "\n");
}

/** The record; undefined when there is none; InstanceFileError when it is unreadable or damaged. */
export async function readInstanceFile(file: string): Promise<InstanceRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new InstanceFileError(file, "cannot be read", { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InstanceFileError(file, `is not JSON (${text.length} bytes; cut short?)`, { cause: e });
  }
  const parsed = instanceFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new InstanceFileError(file, `is damaged: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  }
  try {
    return { ...parsed.data, spec: checkWireSpec(parsed.data.spec) };
  } catch (e) {
    throw new InstanceFileError(file, `holds an invalid spec: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export async function removeInstanceFile(file: string): Promise<void> {
  await rm(file, { force: true });
}
