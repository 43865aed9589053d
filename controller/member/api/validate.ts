/**
 * Validation of what agents send, at the boundary. The protobuf decoder already
 * gives every field its type; these schemas bound sizes and shapes so a broken or
 * hostile agent cannot bloat the store or the operator's tables. Every problem is
 * reported with its field path.
 */
import { z } from "zod";
import { labelProblems } from "../../../shared/labels.js";
import type { HostFacts__Output } from "../../../shared/gen/berth/v1/HostFacts.js";
import type { Usage__Output } from "../../../shared/gen/berth/v1/Usage.js";
import type { InstanceStatus__Output } from "../../../shared/gen/berth/v1/InstanceStatus.js";
import type { ExecOutput__Output } from "../../../shared/gen/berth/v1/ExecOutput.js";
import type { ExecExit__Output } from "../../../shared/gen/berth/v1/ExecExit.js";
import { INSTANCE_STATES, type InstanceState } from "../../services/records.js";
import { EXEC_MAX_ARGS, EXEC_MAX_ARGV_BYTES, EXEC_MAX_CHUNK_BYTES, EXEC_MAX_COLS, EXEC_MAX_ROWS } from "../../../shared/exec/limits.js";

const str = (max = 256) => z.string().max(max);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const finite = z.number().refine(Number.isFinite, "must be a finite number");

const facts = z.object({
  hostname: str(253),
  os_distro: str(),
  os_release: str(),
  kernel: str(),
  arch: str(32),
  cpu_model: str(),
  cpu_cores: count.max(65_536),
  cpu_physical_cores: count.max(65_536),
  cpu_speed_ghz: finite.pipe(z.number().min(0).max(100)),
  memory_total_bytes: count,
  disks: z.array(z.object({ name: str(), type: str(32), size_bytes: count, model: str(), removable: z.boolean() })).max(256),
  filesystems: z
    .array(z.object({ mount: str(1024), fs_type: str(64), size_bytes: count, used_bytes: count }))
    .max(256),
  interfaces: z
    .array(z.object({ name: str(64), mac: str(64), addresses: z.array(str(64)).max(64), internal: z.boolean() }))
    .max(256),
  virtual: z.boolean(),
  hypervisor: str(),
  system_vendor: str(),
  system_model: str(),
  agent_version: str(64),
  allow_root: z.boolean().default(false),
});

/** Exported for the test that holds the fast path (acceptUsage) to it. */
export const usageSchema = z.object({
  load1: finite.pipe(z.number().min(0)),
  load5: finite.pipe(z.number().min(0)),
  load15: finite.pipe(z.number().min(0)),
  cpu_percent: finite.pipe(z.number().min(0).max(100)),
  memory_used_bytes: count,
  memory_total_bytes: count,
  disk_used_bytes: count,
  disk_total_bytes: count,
});

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]{2,39})$/;
const advertise = z.string().max(64).refine((s) => s === "" || IP.test(s), "must be an IPv4 or IPv6 address");
const labels = z.record(z.string().max(256), z.string().max(256)).superRefine((l, ctx) => {
  for (const p of labelProblems(l, "")) ctx.addIssue({ code: "custom", message: p.replace(/^: /, "") });
});

const status = z.object({
  service: str(64),
  instance: str(80),
  epoch: count,
  revision: count,
  state: z.enum(INSTANCE_STATES),
  detail: str(4096),
  restarts: count,
  since_ms: count,
  pid: z.number().int().min(0),
  resources_enforced: z.boolean(),
  resources_note: str(1024),
  install_tail: str(16_384),
  age_ms: count,
});

export class ValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "ValidationError";
  }
}

function check<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new ValidationError(
    r.error.issues.slice(0, 10).map((i) => `${[field, ...i.path.map(String)].join(".")}: ${i.message}`),
  );
}

export function validateFacts(v: unknown, field = "facts"): HostFacts__Output {
  return check(facts, v, field) as HostFacts__Output;
}
/**
 * Every heartbeat carries a usage sample: at 1 Hz from thousands of hosts, zod's parse
 * of it was a quarter of what a heartbeat cost the controller (README, "Joins and
 * memory"). A sample that is well-formed — the common case — is accepted here by the
 * same rules as usageSchema, written out; anything else goes to zod, which says what
 * is wrong. test/unit/controller/validate.test.ts holds the two to the same verdicts.
 */
export function acceptUsage(v: unknown): Usage__Output | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const u = v as Record<keyof Usage__Output, unknown>;
  const { load1, load5, load15, cpu_percent, memory_used_bytes, memory_total_bytes, disk_used_bytes, disk_total_bytes } = u;
  if (!nonNegative(load1) || !nonNegative(load5) || !nonNegative(load15) || !nonNegative(cpu_percent) || cpu_percent > 100) return undefined;
  if (!isCount(memory_used_bytes) || !isCount(memory_total_bytes) || !isCount(disk_used_bytes) || !isCount(disk_total_bytes)) return undefined;
  return { load1, load5, load15, cpu_percent, memory_used_bytes, memory_total_bytes, disk_used_bytes, disk_total_bytes };
}
const nonNegative = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0;
const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

export function validateUsage(v: unknown, field = "usage"): Usage__Output {
  return acceptUsage(v) ?? check(usageSchema, v, field);
}
export function validateLabels(v: unknown, field = "labels"): Record<string, string> {
  return check(labels, v, field);
}
export function validateAdvertiseAddr(v: unknown, field = "advertise_addr"): string {
  return check(advertise, v, field);
}

export function validateInstanceStatus(v: unknown, field = "instance_status"): InstanceStatus__Output & { state: InstanceState } {
  return check(status, v, field);
}

const SHA = /^[0-9a-f]{64}$/;
// Built once: a schema made per call cost ~0.4 ms of every Hello (a fleet joining sends thousands).
const digests = z.array(z.string().regex(SHA, "must be a sha256 in hex")).max(1024);
export function validateDigests(v: unknown, field: string): string[] {
  return check(digests, v, field);
}

// Remote exec (`berth exec`): the operator's start message, resizes, and what agents send back.
const noNul = (s: string): boolean => !s.includes("\0");
const size = (max: number) => z.number().int().min(0).max(max);

const execRequest = z
  .object({
    host: str(256),
    service: str(64),
    instance: str(80),
    command: z.array(z.string().refine(noNul, "must not contain NUL bytes")).max(EXEC_MAX_ARGS, `at most ${EXEC_MAX_ARGS} arguments`),
    tty: z.boolean(),
    rows: size(EXEC_MAX_ROWS),
    cols: size(EXEC_MAX_COLS),
    term: z.string().max(64).regex(/^[A-Za-z0-9._+-]*$/, "must be a terminal name such as xterm-256color"),
  })
  .superRefine((r, ctx) => {
    if (!r.host && !r.service) ctx.addIssue({ code: "custom", path: ["host"], message: "give a host (id, id prefix or hostname), or a service" });
    if (r.host && r.service) ctx.addIssue({ code: "custom", path: ["service"], message: "give a host or a service, not both" });
    if (r.instance && !r.service) ctx.addIssue({ code: "custom", path: ["instance"], message: "only with a service" });
    if (r.command.length > 0 && r.command[0] === "") ctx.addIssue({ code: "custom", path: ["command", 0], message: "must not be empty" });
    const bytes = r.command.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
    if (bytes > EXEC_MAX_ARGV_BYTES) ctx.addIssue({ code: "custom", path: ["command"], message: `${bytes} bytes in all; at most ${EXEC_MAX_ARGV_BYTES}` });
  });

export type ExecRequestInput = z.infer<typeof execRequest>;

export function validateExecRequest(v: unknown, field = "start"): ExecRequestInput {
  return check(execRequest, v, field);
}

const terminalSize = z.object({ rows: size(EXEC_MAX_ROWS).min(1), cols: size(EXEC_MAX_COLS).min(1) });
export function validateTerminalSize(v: unknown, field = "resize"): { rows: number; cols: number } {
  return check(terminalSize, v, field);
}

const chunk = z.instanceof(Uint8Array).refine((b) => b.length <= EXEC_MAX_CHUNK_BYTES, `larger than ${EXEC_MAX_CHUNK_BYTES} bytes`);
export function validateExecChunk(v: unknown, field: string): Buffer {
  return Buffer.from(check(chunk, v, field));
}

const execOutput = z.object({ session_id: count, data: chunk, stderr: z.boolean(), ack: count });
export function validateExecOutput(v: unknown, field = "exec_output"): ExecOutput__Output {
  return check(execOutput, v, field) as ExecOutput__Output;
}

const execExit = z.object({ session_id: count, code: z.number().int().min(-1).max(255), signal: str(32), error: str(4096) });
export function validateExecExit(v: unknown, field = "exec_exit"): ExecExit__Output {
  return check(execExit, v, field);
}
