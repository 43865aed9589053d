/**
 * Validation of what agents send, at the boundary. The protobuf decoder already
 * gives every field its type; these schemas bound sizes and shapes so a broken or
 * hostile agent cannot bloat the store or the operator's tables. Every problem is
 * reported with its field path.
 */
import { z } from "zod";
import { labelProblems } from "../../shared/labels.js";
import type { HostFacts__Output } from "../../shared/gen/berth/v1/HostFacts.js";
import type { Usage__Output } from "../../shared/gen/berth/v1/Usage.js";
import type { InstanceStatus__Output } from "../../shared/gen/berth/v1/InstanceStatus.js";
import { INSTANCE_STATES, type InstanceState } from "../services/records.js";

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
});

const usage = z.object({
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
export function validateUsage(v: unknown, field = "usage"): Usage__Output {
  return check(usage, v, field);
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
export function validateDigests(v: unknown, field: string): string[] {
  return check(z.array(z.string().regex(SHA, "must be a sha256 in hex")).max(1024), v, field);
}
