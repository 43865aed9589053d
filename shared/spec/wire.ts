/**
 * The normalized spec as it travels (Assignment.spec_json) and rests (the agent's
 * instance file): types.ts's ServiceSpec, checked rather than cast. The shape is
 * checked here; the rules (names, signals, ports, env names) are the spec schema's
 * own — the spec is turned back into what a user writes (toSpecInput) and
 * validated by it — so the agent refuses exactly what `berth apply` would.
 */
import { z } from "zod";
import { formatSpecPath } from "./path.js";
import { toSpecInput, validateSpec } from "./schema.js";
import type { ServiceSpec } from "./types.js";

const ms = z.number().int().min(0);
const num = z.number().min(0);

const artifact = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("stored"), sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a sha256 in lowercase hex"), source: z.string() }),
  z.strictObject({ kind: z.literal("url"), url: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a sha256 in lowercase hex") }),
]);

const check = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("http"), port: z.number().int(), path: z.string(), status: z.number().int() }),
  z.strictObject({ kind: z.literal("tcp"), port: z.number().int() }),
  z.strictObject({ kind: z.literal("exec"), command: z.array(z.string()) }),
]);

const secretRefs = z.record(z.string(), z.strictObject({ secret: z.string(), version: z.number().int().min(0) }));

const wireSpec = z.strictObject({
  name: z.string(),
  artifact: artifact.nullable(),
  install: z.strictObject({ apt: z.array(z.string()), steps: z.array(z.strictObject({ run: z.string(), timeoutMs: ms })) }),
  run: z.strictObject({
    command: z.string(),
    args: z.array(z.string()),
    env: z.record(z.string(), z.string()),
    user: z.string(),
    stopSignal: z.string(),
    stopTimeoutMs: ms,
    // Sent only when the spec sets it: an agent older than run.restart refuses a spec it cannot honour, and takes every other.
    restart: z.strictObject({ attempts: z.number().int().min(0), delayMs: ms, maxDelayMs: ms }).optional(),
  }),
  // Absent from a controller older than secrets.
  secrets: secretRefs.default({}),
  secretFiles: secretRefs.default({}),
  resources: z.strictObject({ cpu: num, memoryMb: num, diskMb: num }),
  instances: z.number().int().min(0),
  constraints: z.record(z.string(), z.array(z.string())),
  spread: z.string(),
  health: z
    .strictObject({ check, intervalMs: ms, timeoutMs: ms, healthyThreshold: z.number().int(), unhealthyThreshold: z.number().int() })
    .nullable(),
  update: z.strictObject({
    maxUnavailable: z.number().int(),
    maxSurge: z.number().int(),
    minHealthyTimeMs: ms,
    healthyDeadlineMs: ms,
    progressDeadlineMs: ms,
    canary: z.number().int(),
    autoRevert: z.boolean(),
    drainTimeMs: ms,
  }),
  failover: z.strictObject({ enabled: z.boolean(), stopAfterDisconnectMs: ms }),
});

/** A wire spec that is not a valid normalized spec; `problems` name the fields. */
export class WireSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "WireSpecError";
  }
}

/** A parsed wire spec (plain data, not yet trusted) → a ServiceSpec, or WireSpecError naming every problem. */
export function checkWireSpec(raw: unknown): ServiceSpec {
  const shape = wireSpec.safeParse(raw);
  if (!shape.success) {
    throw new WireSpecError(shape.error.issues.slice(0, 10).map((i) => `${formatSpecPath(i.path.map((p) => (typeof p === "number" ? p : String(p)))) || "(root)"}: ${i.message}`));
  }
  // The shape holds (so toSpecInput cannot trip over it): now the rules users meet.
  const spec = shape.data as ServiceSpec;
  // As stored: a spec the controller kept from before a rule about meaning was added still runs.
  const rules = validateSpec(toSpecInput(spec), { stored: true });
  if (!rules.spec) throw new WireSpecError(rules.issues.slice(0, 10).map((i) => `${formatSpecPath(i.path) || "(root)"}: ${i.message}`));
  return spec;
}

/** Assignment.spec_json → a ServiceSpec; WireSpecError when it is not JSON or not a valid spec. */
export function parseWireSpec(json: string): ServiceSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new WireSpecError([`not JSON: ${e instanceof Error ? e.message : String(e)}`]);
  }
  return checkWireSpec(raw);
}
