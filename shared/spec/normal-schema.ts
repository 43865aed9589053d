/**
 * The normal form of a service spec (types.ts) as a schema: what the controller
 * checks a *stored* spec against before it uses it (controller/store/record.ts).
 * A stored spec is outside input too — written by an older controller with looser
 * rules, by a bug, by hand — and one absurd number (maxSurge 1e9) once made every
 * rollout step allocate until the heap ran out, on every restart.
 *
 * Two layers: this schema checks the shape and keeps every number finite and in a
 * range no loop or timer can choke on; then the spec goes back through the rules
 * users' specs pass (validateSpec(toSpecInput(spec))), so a bound added there
 * applies to stored specs as well, with one definition (not the rules about meaning
 * only an applied spec must pass: schema.ts, inputRules).
 */
import os from "node:os";
import { z } from "zod";
import type { Same } from "../same-type.js";
import { MAX_INSTANCES, toSpecInput, validateSpec } from "./schema.js";
import { formatSpecPath } from "./path.js";
import type { ServiceSpec } from "./types.js";

/** No duration in a spec may exceed this (a year): setTimeout and date arithmetic stay sane. */
export const MAX_STORED_DURATION_MS = 365 * 24 * 3600 * 1000;

const SIGNALS = Object.keys(os.constants.signals) as [NodeJS.Signals, ...NodeJS.Signals[]];

const count = z.int().min(0).max(MAX_INSTANCES);
const durationMs = z.number().min(0).max(MAX_STORED_DURATION_MS);
const port = z.int().min(1).max(65535);
const strings = z.array(z.string());

const ArtifactSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("stored"), sha256: z.string(), source: z.string() }),
  z.object({ kind: z.literal("url"), url: z.string(), sha256: z.string() }),
]);

const HealthCheckSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("http"), port, path: z.string(), status: z.int() }),
  z.object({ kind: z.literal("tcp"), port }),
  z.object({ kind: z.literal("exec"), command: strings }),
]);

const SecretRefs = z.record(z.string(), z.object({ secret: z.string(), version: z.int().min(0).max(Number.MAX_SAFE_INTEGER) }));

/**
 * The shape alone, every number bounded: enough for specs kept only for reference
 * (a service's history), which need not pass rules added since they were current.
 */
export const StoredSpecShape = z.object({
  name: z.string(),
  artifact: ArtifactSchema.nullable(),
  install: z.object({ apt: strings, steps: z.array(z.object({ run: z.string(), timeoutMs: durationMs })) }),
  run: z.object({
    command: z.string(),
    args: strings,
    env: z.record(z.string(), z.string()),
    user: z.string(),
    stopSignal: z.enum(SIGNALS),
    stopTimeoutMs: durationMs,
    // Absent in specs stored before run.restart existed, and in every spec that does not set it.
    restart: z.object({ attempts: count, delayMs: durationMs, maxDelayMs: durationMs }).optional(),
  }),
  // Absent in specs stored before secrets existed.
  secrets: SecretRefs.default({}),
  secretFiles: SecretRefs.default({}),
  resources: z.object({ cpu: z.number().min(0).max(1_000_000), memoryMb: z.int().min(0), diskMb: z.int().min(0) }),
  instances: count,
  constraints: z.record(z.string(), strings),
  spread: z.string(),
  health: z
    .object({
      check: HealthCheckSchema,
      intervalMs: durationMs,
      timeoutMs: durationMs,
      healthyThreshold: count,
      unhealthyThreshold: count,
    })
    .nullable(),
  update: z.object({
    maxUnavailable: count,
    maxSurge: count,
    minHealthyTimeMs: durationMs,
    healthyDeadlineMs: durationMs,
    progressDeadlineMs: durationMs,
    canary: count,
    autoRevert: z.boolean(),
    drainTimeMs: durationMs,
  }),
  failover: z.object({ enabled: z.boolean(), stopAfterDisconnectMs: durationMs }),
});

/** A stored spec: the shape above, then every rule a user's spec passes. */
export const StoredSpecSchema: z.ZodType<ServiceSpec> = StoredSpecShape.superRefine((spec, ctx) => {
  const { issues } = validateSpec(toSpecInput(spec), { stored: true });
  // The paths are the YAML's (update.maxSurge), which is how an operator fixes it: re-apply.
  for (const i of issues) ctx.addIssue({ code: "custom", path: [], message: `${formatSpecPath(i.path)}: ${i.message}` });
});

const exact: Same<z.output<typeof StoredSpecShape>, ServiceSpec> = true;
void exact;
