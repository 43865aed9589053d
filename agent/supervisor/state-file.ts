/**
 * The supervisor's memory across agent restarts: one JSON file per instance,
 * written each time a process starts and removed when the instance stops for
 * good. It names the process (pid + start time, so a reused pid is not
 * mistaken for ours), the assignment it runs (epoch, specHash), and the whole
 * run configuration — so an agent that restarts can adopt the process, keep
 * rotating its log and restart it per policy before the controller has told
 * it anything.
 *
 * It holds the service's environment, which may carry secrets: mode 0600.
 */
import os from "node:os";
import { readFile } from "node:fs/promises";
import { unlinkSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomicSync } from "../../shared/state-file.js";

const count = z.number().int().min(0);

/** What it takes to run the process again: everything in SupervisorOptions but runtime hooks. */
export const runConfigSchema = z.object({
  instanceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "must be [A-Za-z0-9._-], at most 128, not starting with . or -"),
  epoch: count,
  /** Opaque to the supervisor; the agent compares it with its assignment's. */
  specHash: z.string(),
  workDir: z.string().min(1),
  command: z.string().min(1),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  /**
   * Where the secret environment is (agent/secrets/material.ts), read at each launch:
   * this file holds the path, never a value. "": none (and in files from before it).
   */
  secretEnvFile: z.string().default(""),
  user: z.string(),
  /** The run user's HOME when it is not passwd's (agent/runas/service-user.ts: a default user's home under the data dir). "": passwd's (and in files from before it). */
  home: z.string().default(""),
  stopSignal: z.custom<NodeJS.Signals>((v) => typeof v === "string" && v in os.constants.signals, "must be a signal name"),
  stopTimeoutMs: count,
  logDir: z.string().min(1),
  logMaxBytes: z.number().int().positive(),
  logFiles: z.number().int().min(2),
  cgroup: z.object({ cpu: z.number(), memoryMb: z.number() }).nullable(),
  restartPolicy: z.object({
    initialMs: z.number().min(0),
    maxMs: z.number().min(0),
    factor: z.number().min(1),
    jitter: z.number().min(0).max(1),
    stableAfterMs: z.number().min(0),
    maxQuickFailures: count,
  }),
});
export type RunConfig = z.infer<typeof runConfigSchema>;

export const processRecordSchema = z.object({
  version: z.literal(1),
  instanceId: z.string(),
  epoch: count,
  specHash: z.string(),
  pid: z.number().int().positive(),
  pgid: z.number().int().positive(),
  /** /proc/<pid>/stat field 22 at spawn. */
  startTime: count,
  startedAtMs: count,
  restarts: count,
  failures: count,
  cgroup: z.object({ kind: z.enum(["v1", "v2"]), dirs: z.array(z.string()) }).nullable(),
  /** Why there is no cgroup although one was asked for; "" otherwise. */
  cgroupReason: z.string(),
  config: runConfigSchema,
});
export type ProcessRecord = z.infer<typeof processRecordSchema>;

/** A state file that exists but cannot be trusted: the caller removes it and reports. */
export class StateFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
    this.name = "StateFileError";
  }
}

/**
 * Synchronous, because it runs right after spawn: an agent that dies between
 * spawn and this write leaves a process nobody knows about, so the gap is kept
 * to one tick. Atomic (shared/state-file.ts): a crash leaves the old file or the new.
 */
export function writeRecordSync(file: string, record: ProcessRecord, o: { durable?: boolean } = {}): void {
  writeFileAtomicSync(file, JSON.stringify(record, null, 2) + "\n", o);
}

/** The record, or undefined when there is none; throws StateFileError when it is unreadable. */
export async function readRecord(file: string): Promise<ProcessRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StateFileError(file, "cannot be read", { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(file, "is not JSON", { cause: e });
  }
  const parsed = processRecordSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new StateFileError(file, `is damaged: ${problems.join("; ")}`);
  }
  return parsed.data;
}

export function removeRecordSync(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
