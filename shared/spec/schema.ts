/**
 * The service spec as users write it (DESIGN.md "The service spec") and its normal form
 * (types.ts). `SpecInputSchema` is the YAML shape: every block optional except `name` and
 * `run.command`, unknown fields refused at every level. `normalizeSpec` applies the
 * defaults and turns durations into ms.
 *
 * Coercions, on purpose: YAML reads `8080`, `1.10` or `true` as a number or boolean even
 * where the spec wants a string, and people forget the quotes. So `run.args`, `run.env`
 * values, `constraints` values and `health.exec.command` accept numbers and booleans and
 * take them as strings. parse.ts keeps the text exactly as written (`1.10` stays "1.10");
 * normalizeSpec on plain data can only use String(value) (`1.1`).
 */
import os from "node:os";
import { z } from "zod";
import { parseDurationMs, tryParseDurationMs } from "../duration.js";
import { LABEL_KEY, LABEL_VALUE } from "../labels.js";
import { SpecValidationError, specErrorMap, toSpecIssues, writtenIn } from "./issues.js";
import type { Explain, SpecIssue } from "./issues.js";
import { formatSpecPath } from "./path.js";
import type { SpecPath } from "./path.js";
import { INSTANCE_VARS } from "./template.js";
import type { Artifact, HealthCheck, HealthSpec, SecretRef, ServiceSpec } from "./types.js";
import { SECRET_NAME, SECRET_NAME_MESSAGE } from "../secret-limits.js";

/** Every default, in the form users write it; normalizeSpec fills these in. */
export const SPEC_DEFAULTS = {
  install: { apt: [] as string[], stepTimeout: "5m" },
  run: { args: [] as string[], user: "", stopSignal: "SIGTERM", stopTimeout: "20s", restart: { attempts: 10, delay: "1s", maxDelay: "30s" } },
  /** 0 = no requirement: the scheduler does not check this resource. */
  resources: { cpu: 0, memoryMb: 0, diskMb: 0 },
  instances: 1,
  /** "" = no spread */
  spread: "",
  health: {
    httpPath: "/",
    httpStatus: 200,
    interval: "2s",
    timeout: "1s",
    healthyThreshold: 1,
    unhealthyThreshold: 3,
  },
  update: {
    maxUnavailable: 1,
    maxSurge: 0,
    minHealthyTime: "5s",
    healthyDeadline: "1m",
    progressDeadline: "10m",
    canary: 0,
    autoRevert: true,
    drainTime: "5s",
  },
  /** stopAfterDisconnect 0s = no self-fencing */
  failover: { enabled: true, stopAfterDisconnect: "0s" },
} as const;

/**
 * Upper bounds, each what an operator could mean and what the code can honour: every
 * duration well inside Node's timer range (~24.8 days), counts that never make a
 * rollout or the scheduler allocate per unit of an absurd number. The README's spec
 * reference lists them.
 */
export const SPEC_LIMITS = {
  instances: 10_000,
  /** healthyThreshold and unhealthyThreshold: 100 checks is minutes at any sane interval. */
  threshold: 100,
  /** run.restart.attempts */
  restartAttempts: 1000,
  /** cores */
  cpu: 1024,
  /** 16 TiB */
  memoryMb: 16 * 1024 * 1024,
  /** 1 PiB */
  diskMb: 1024 * 1024 * 1024,
  httpPathChars: 2048,
  durations: {
    installStepTimeout: "1d",
    stopTimeout: "1h",
    restartDelay: "1h",
    healthInterval: "1h",
    healthTimeout: "1h",
    minHealthyTime: "1h",
    healthyDeadline: "1d",
    progressDeadline: "7d",
    drainTime: "1h",
    stopAfterDisconnect: "1d",
  },
} as const;

export const MAX_INSTANCES = SPEC_LIMITS.instances;

/** Secret names: as service names, with dots and underscores inside (`tls.key`, `db_password`). */
export { SECRET_NAME, SECRET_NAME_MESSAGE };
/** Where secretFiles may go: a tmpfs on nearly every Linux, and nowhere a file of the system lives. */
export const SECRET_FILE_DIR = "/run/secrets/";
// Each part after /run/secrets: [A-Za-z0-9._-], and never "." or "..", which would leave the folder.
const SECRET_FILE_PATH = /^\/run\/secrets(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._-]+)+$/;
/** At most this many secrets (env and files together) in one spec. */
export const MAX_SPEC_SECRETS = 100;

export const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Debian package names (policy §5.6.1), optionally pinned: `nginx-light=1.18.0-6`. */
const APT_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(=[0-9][A-Za-z0-9.+~:-]*)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** useradd's rule: lowercase, may end in $, at most 32 characters; no numeric uids. */
const USER_NAME = /^(?=.{1,32}$)[a-z_][a-z0-9_-]*\$?$/;
/** Label rules are shared/labels.ts's: a constraint names labels as hosts carry them. */
export { LABEL_KEY, LABEL_VALUE };
/** What parseDurationMs accepts, minus surrounding blanks; a test keeps the two in step. */
const DURATION = /^(?:0|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
/** What Node sends in a request line unescaped: visible ASCII, no blanks. */
const HTTP_PATH = /^\/[\x21-\x7e]*$/;
const RESERVED_ENV_PREFIX = "BERTH_";

const SIGNALS = Object.keys(os.constants.signals) as [NodeJS.Signals, ...NodeJS.Signals[]];

const NUL_MESSAGE = "must not contain a NUL character";

/**
 * Control characters (C0, DEL, C1) make no sense in a name, a path or a command, and
 * in a terminal they are escape sequences. Text that is a script, an argument or an
 * environment value may hold tabs and newlines (a PEM, a `sh -c` script), nothing else.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const codePoint = (c: number): string => `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;

/** The problem with control characters in `v`, or undefined; `at` counts characters from 1. */
function controlProblem(v: unknown, kind: "line" | "text"): string | undefined {
  if (typeof v !== "string") return undefined;
  const i = v.search(kind === "line" ? CONTROL : CONTROL_IN_TEXT);
  if (i < 0) return undefined;
  const c = v.charCodeAt(i);
  if (c === 0) return NUL_MESSAGE;
  const what = kind === "line" ? "control characters" : "control characters other than tab and newline";
  return `must not contain ${what} (found ${codePoint(c)} at ${i + 1})`;
}
function httpPathProblem(input: unknown): string {
  if (typeof input !== "string" || !input.startsWith("/")) return "must start with /";
  const control = controlProblem(input, "line");
  if (control) return control;
  const i = input.search(/[^\x21-\x7e]/);
  return `must be visible ASCII characters without blanks: percent-encode the rest (found ${JSON.stringify(input[i] ?? "")} at ${i + 1})`;
}
const noControl =
  (kind: "line" | "text") =>
  (v: unknown, ctx: z.core.$RefinementCtx): void => {
    const message = controlProblem(v, kind);
    if (message) ctx.addIssue({ code: "custom", message });
  };

/** One line of text: a name, a path, a program. */
const line = z.string().min(1).superRefine(noControl("line"));

const durationMessage = "expected a duration such as 500ms, 5s, 2m, 1h or 1m30s";
/** What is wrong with a duration: the common mistakes by name, the rest by example. */
function durationProblem(input: unknown): string {
  if (typeof input === "number") return `${durationMessage} (a number needs a unit: ${input}s?)`;
  if (typeof input === "string") {
    const s = input.trim();
    if (/^-\d/.test(s)) return "must not be negative";
    if (/\d[eE][+-]?\d/.test(s)) return "write the number out: no exponent form such as 1e3";
    if (/^\d+(\.\d+)?$/.test(s)) return `${durationMessage} (a number needs a unit: ${s}s?)`;
    // "5 s", "5 seconds", "2 mins": the unit spelled out or apart from the number.
    const word = /^(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)$/i.exec(s);
    if (word) {
      const u = word[2]!.toLowerCase();
      const unit = u === "ms" || u.startsWith("mil") ? "ms" : u.startsWith("s") ? "s" : u.startsWith("m") ? "m" : "h";
      return `${durationMessage}: write ${word[1]}${unit}`;
    }
  }
  return durationMessage;
}
/** A duration string; the bare number 0 too, since `drainTime: 0` needs no unit. */
const duration = z.union(
  [z.string().max(64, durationMessage).regex(DURATION, { error: (iss) => durationProblem(iss.input) }), z.literal(0)],
  { error: (iss) => durationProblem(iss.input) },
);

/**
 * A duration of at most `max` (SPEC_LIMITS.durations), and above 0 when `positive`.
 * Never throws: a value the format check refused is left to its message.
 */
function durationUpTo(max: string, o: { positive?: boolean } = {}) {
  const maxMs = parseDurationMs(max);
  return duration.superRefine((d, ctx) => {
    if (typeof d === "string" && !DURATION.test(d)) return;
    const ms = tryParseDurationMs(String(d));
    if (ms === undefined) return;
    if (o.positive && ms <= 0) ctx.addIssue({ code: "custom", message: "must be longer than 0" });
    else if (ms > maxMs) ctx.addIssue({ code: "custom", message: `${String(d)} is longer than the maximum ${max}` });
  });
}
const D = SPEC_LIMITS.durations;

/** A string, or a YAML number/boolean taken as the string it reads as (see the file comment). */
const stringish = z
  .union([z.string(), z.number(), z.boolean()], {
    error: (iss) => `expected a string, got ${iss.input === null ? "an empty value" : Array.isArray(iss.input) ? "a list" : "a mapping"}`,
  })
  .superRefine(noControl("text"));

const port = z.int().min(1).max(65535);

const labelKeyMessage = "label key must be lowercase [a-z0-9._/-], 1-63 characters, starting and ending with a letter or digit";
const labelValueMessage = "label value must be [A-Za-z0-9._-], 1-63 characters, starting and ending with a letter or digit";
const labelKey = z.string().regex(LABEL_KEY, labelKeyMessage);
const labelValue = z
  .union([z.string().regex(LABEL_VALUE, labelValueMessage), z.number(), z.boolean()], {
    error: "expected a label value (a string)",
  })
  // Strings are checked by the regex above (which editors see too); this checks the rest.
  .refine((v) => typeof v === "string" || LABEL_VALUE.test(String(v)), labelValueMessage);

const ArtifactSchema = z.union(
  [
    line.describe("a local file or folder, tarred and stored on the controller"),
    z
      .strictObject({
        url: z.url({
          protocol: /^https$/,
          error: "must be an https:// URL (every host fetches it; plain http and other schemes are refused)",
        }),
        sha256: z.string().regex(SHA256, "must be the artifact's sha256: 64 hex digits"),
      })
      .describe("fetched by each host from an https URL and checked against sha256"),
  ],
  { error: "expected a path (string) or { url, sha256 }" },
);

const InstallSchema = z.strictObject({
  apt: z
    .array(
      z
        .string()
        .regex(APT_PACKAGE, "must be a Debian package name ([a-z0-9][a-z0-9+.-]+), optionally with =version"),
    )
    .default([])
    .describe("Debian packages, installed by apt before the steps"),
  steps: z
    .array(
      z.strictObject({
        run: z.string().min(1).superRefine(noControl("text")).describe("a shell command, run in the unpacked artifact's folder"),
        timeout: durationUpTo(D.installStepTimeout, { positive: true }).default(SPEC_DEFAULTS.install.stepTimeout),
      }),
    )
    .default([]),
});

const RestartSchema = z
  .strictObject({
    attempts: z
      .int()
      .min(0)
      .max(SPEC_LIMITS.restartAttempts)
      .default(SPEC_DEFAULTS.run.restart.attempts)
      .describe("quick exits in a row (each within 30s of its start) restarted before the instance is failed; 0: failed at the first"),
    delay: durationUpTo(D.restartDelay).default(SPEC_DEFAULTS.run.restart.delay).describe("the wait before the first restart, doubled after each further quick exit"),
    maxDelay: durationUpTo(D.restartDelay).default(SPEC_DEFAULTS.run.restart.maxDelay).describe("the longest wait between restarts"),
  })
  .superRefine((r, ctx) => {
    const delayMs = tryParseDurationMs(String(r.delay));
    const maxMs = tryParseDurationMs(String(r.maxDelay));
    if (delayMs !== undefined && maxMs !== undefined && maxMs < delayMs) {
      ctx.addIssue({
        code: "custom",
        path: ["maxDelay"],
        ...comparison({ path: ["run", "restart", "maxDelay"], value: r.maxDelay }, "must not be shorter than", { path: ["run", "restart", "delay"], value: r.delay }),
      });
    }
  });

const RunSchema = z.strictObject({
  command: line.describe("a path in the artifact, an absolute path, or a program on PATH"),
  args: z.array(stringish).default([]),
  env: z
    .record(
      z
        .string()
        .regex(ENV_NAME, "must be an environment variable name: [A-Za-z_][A-Za-z0-9_]*")
        .refine(
          (k) => !k.startsWith(RESERVED_ENV_PREFIX),
          `names starting with BERTH_ are reserved: berth sets ${INSTANCE_VARS.join(", ")}`,
        ),
      stringish,
    )
    .default({}),
  user: z
    .string()
    .regex(USER_NAME, "must be a user name: lowercase [a-z_][a-z0-9_-]*, at most 32 characters")
    .optional()
    .describe("the user the process and its install steps run as; default: berth-<service>, a system user the agent creates. root (or any privileged user) needs an admin token and allowRoot: true in the agent's agent.yaml"),
  stopSignal: z
    .enum(SIGNALS, { error: "expected a signal name such as SIGTERM, SIGINT or SIGQUIT" })
    .default(SPEC_DEFAULTS.run.stopSignal),
  stopTimeout: durationUpTo(D.stopTimeout)
    .default(SPEC_DEFAULTS.run.stopTimeout)
    .describe("how long after stopSignal the process is killed"),
  restart: RestartSchema.optional().describe("how a process that exits on its own is restarted, and when it is failed instead"),
});

const ResourcesSchema = z.strictObject({
  cpu: z.number().min(0).max(SPEC_LIMITS.cpu).default(SPEC_DEFAULTS.resources.cpu).describe("cores; may be fractional; 0 = no requirement"),
  memoryMb: z.int().min(0).max(SPEC_LIMITS.memoryMb).default(SPEC_DEFAULTS.resources.memoryMb).describe("0 = no requirement"),
  diskMb: z.int().min(0).max(SPEC_LIMITS.diskMb).default(SPEC_DEFAULTS.resources.diskMb).describe("0 = no requirement"),
});

/** One side of a rule between two fields: where it is (from the spec's root) and its value, default or not. */
interface Side {
  path: SpecPath;
  value: string | number;
}

/**
 * "a RELATION b", naming a side the user never wrote as the default it is, and the field
 * to set: `timeout defaults to 1s, which must be shorter than interval (1s): set health.timeout`.
 * A rule's block sits at one place in a spec (health, update), so paths are absolute.
 */
function comparison(a: Side, relation: string, b: Side | readonly Side[], why = ""): { message: string; params: { explain: Explain } } {
  const name = (s: Side): string => String(s.path[s.path.length - 1]);
  // Several sides on the right are their sum: `healthyDeadline (1m) + drainTime (5s by default)`.
  const bs = Array.isArray(b) ? b : [b as Side];
  const explain: Explain = (written) => {
    const left = written(a.path) ? `${name(a)} (${a.value})` : `${name(a)} defaults to ${a.value}, which`;
    const right =
      bs.length === 1
        ? written(bs[0]!.path)
          ? `${name(bs[0]!)} (${bs[0]!.value})`
          : `${name(bs[0]!)}, which defaults to ${bs[0]!.value}`
        : bs.map((s) => (written(s.path) ? `${name(s)} (${s.value})` : `${name(s)} (${s.value} by default)`)).join(" + ");
    const unset = [a, ...bs].filter((s) => !written(s.path)).map((s) => formatSpecPath(s.path));
    return `${left} ${relation} ${right}${why}${unset.length ? `: set ${unset.join(" or ")}` : ""}`;
  };
  return { message: explain(() => true), params: { explain } };
}

const CHECK_KINDS = ["http", "tcp", "exec"] as const;

const HealthSchema = z
  .strictObject({
    http: z
      .strictObject({
        port,
        path: z
          .string()
          .max(SPEC_LIMITS.httpPathChars)
          .regex(HTTP_PATH, { error: (iss) => httpPathProblem(iss.input) })
          .default(SPEC_DEFAULTS.health.httpPath)
          .describe("sent as is in the request line: visible ASCII, percent-encode the rest"),
        status: z.int().min(100).max(599).default(SPEC_DEFAULTS.health.httpStatus).describe("the status a healthy instance answers"),
      })
      .optional(),
    tcp: z.strictObject({ port }).optional(),
    exec: z
      .strictObject({
        command: z
          .array(stringish)
          .min(1)
          .refine((c) => String(c[0]).length > 0, "the program (first item) must not be empty")
          // The program is a path or a name: one line, unlike its arguments.
          .superRefine((c, ctx) => {
            const message = controlProblem(c[0], "line");
            if (message && !controlProblem(c[0], "text")) ctx.addIssue({ code: "custom", path: [0], message });
          })
          .describe("program and arguments, run without a shell; exit 0 = healthy"),
      })
      .optional(),
    interval: durationUpTo(D.healthInterval, { positive: true }).default(SPEC_DEFAULTS.health.interval),
    timeout: durationUpTo(D.healthTimeout, { positive: true }).default(SPEC_DEFAULTS.health.timeout).describe("must be shorter than interval"),
    healthyThreshold: z.int().min(1).max(SPEC_LIMITS.threshold).default(SPEC_DEFAULTS.health.healthyThreshold),
    unhealthyThreshold: z.int().min(1).max(SPEC_LIMITS.threshold).default(SPEC_DEFAULTS.health.unhealthyThreshold),
  })
  .superRefine((h, ctx) => {
    const given = CHECK_KINDS.filter((k) => h[k] !== undefined);
    if (given.length === 0) {
      ctx.addIssue({ code: "custom", path: [], message: "needs a check: one of http, tcp or exec" });
    }
    for (const extra of given.slice(1)) {
      ctx.addIssue({
        code: "custom",
        path: [extra],
        message: `only one check kind is allowed, and ${given[0]} is already given: keep one of ${given.join(", ")}`,
      });
    }
    // This runs beside the fields' own problems: a duration they refused is not compared.
    const timeoutMs = tryParseDurationMs(String(h.timeout));
    const intervalMs = tryParseDurationMs(String(h.interval));
    // A zero on either side is reported above already.
    if (timeoutMs !== undefined && intervalMs !== undefined && timeoutMs > 0 && timeoutMs >= intervalMs) {
      ctx.addIssue({
        code: "custom",
        path: ["timeout"],
        ...comparison({ path: ["health", "timeout"], value: h.timeout }, "must be shorter than", { path: ["health", "interval"], value: h.interval }),
      });
    }
  })
  // Editors cannot see the refinement above; this says "exactly one kind" to them.
  .meta({ oneOf: CHECK_KINDS.map((k) => ({ required: [k] })) });

const UpdateSchema = z
  .strictObject({
    maxUnavailable: z.int().min(0).max(SPEC_LIMITS.instances).default(SPEC_DEFAULTS.update.maxUnavailable).describe("at most instances"),
    maxSurge: z
      .int()
      .min(0)
      .max(SPEC_LIMITS.instances)
      .default(SPEC_DEFAULTS.update.maxSurge)
      .describe("new instances started on spare hosts first; at most instances"),
    minHealthyTime: durationUpTo(D.minHealthyTime)
      .default(SPEC_DEFAULTS.update.minHealthyTime)
      .describe("healthy this long before an instance counts as done"),
    healthyDeadline: durationUpTo(D.healthyDeadline, { positive: true }).default(SPEC_DEFAULTS.update.healthyDeadline),
    progressDeadline: durationUpTo(D.progressDeadline, { positive: true }).default(SPEC_DEFAULTS.update.progressDeadline),
    canary: z.int().min(0).max(SPEC_LIMITS.instances).default(SPEC_DEFAULTS.update.canary).describe("stop after this many until `berth rollout promote`"),
    autoRevert: z.boolean().default(SPEC_DEFAULTS.update.autoRevert),
    drainTime: durationUpTo(D.drainTime)
      .default(SPEC_DEFAULTS.update.drainTime)
      .describe("out of the endpoints this long before it is stopped"),
  })
  .superRefine((u, ctx) => {
    if (u.maxUnavailable + u.maxSurge < 1) {
      // maxUnavailable defaults to 1, so only maxSurge can be the default here.
      const explain: Explain = (written) =>
        written(["update", "maxSurge"])
          ? "maxUnavailable + maxSurge must be at least 1, or a rollout could never replace an instance"
          : `maxUnavailable (${u.maxUnavailable}) + maxSurge, which defaults to ${u.maxSurge}, must be at least 1, or a rollout could never replace an instance: set update.maxSurge`;
      ctx.addIssue({ code: "custom", path: ["maxUnavailable"], message: explain(() => true), params: { explain } });
    }
    // This runs beside the fields' own problems: a duration they refused is not compared.
    const minHealthy = tryParseDurationMs(String(u.minHealthyTime)) ?? Number.NaN;
    const healthy = tryParseDurationMs(String(u.healthyDeadline)) ?? Number.NaN;
    const progress = tryParseDurationMs(String(u.progressDeadline)) ?? Number.NaN;
    if (minHealthy >= healthy) {
      ctx.addIssue({
        code: "custom",
        path: ["healthyDeadline"],
        ...comparison(
          { path: ["update", "healthyDeadline"], value: u.healthyDeadline },
          "must be longer than",
          { path: ["update", "minHealthyTime"], value: u.minHealthyTime },
          ", or no instance could ever count as healthy in time",
        ),
      });
    }
    // As Nomad: a progress deadline shorter than the healthy deadline would fire first.
    if (healthy >= progress) {
      ctx.addIssue({
        code: "custom",
        path: ["progressDeadline"],
        ...comparison({ path: ["update", "progressDeadline"], value: u.progressDeadline }, "must be longer than", { path: ["update", "healthyDeadline"], value: u.healthyDeadline }),
      });
    }
  });

const secretName = z.string().regex(SECRET_NAME, SECRET_NAME_MESSAGE);
const SecretsSchema = z
  .record(
    z
      .string()
      .regex(ENV_NAME, "must be an environment variable name: [A-Za-z_][A-Za-z0-9_]*")
      .refine((k) => !k.startsWith(RESERVED_ENV_PREFIX), `names starting with BERTH_ are reserved: berth sets ${INSTANCE_VARS.join(", ")}`),
    secretName,
  )
  .default({})
  .describe("environment variable → secret name (berth secret set); the value reaches only the process");
const SecretFilesSchema = z
  .record(
    z
      .string()
      .max(255, "at most 255 characters")
      .regex(SECRET_FILE_PATH, `must be a file path under ${SECRET_FILE_DIR} ([A-Za-z0-9._-] in each part, no . or .. parts)`),
    secretName,
  )
  .default({})
  .describe(`file path under ${SECRET_FILE_DIR} → secret name; written mode 0400, owned by run.user`);

const FailoverSchema = z.strictObject({
  enabled: z.boolean().default(SPEC_DEFAULTS.failover.enabled),
  stopAfterDisconnect: durationUpTo(D.stopAfterDisconnect)
    .default(SPEC_DEFAULTS.failover.stopAfterDisconnect)
    .describe("> 0: the agent stops the instance itself after this long without the controller (self-fencing)"),
});

/** The YAML shape of one service spec (DESIGN.md "The service spec"). */
export const SpecInputSchema = z
  .strictObject({
    name: z
      .string()
      .regex(SERVICE_NAME, "must be lowercase letters, digits and '-', 1-63 characters, not starting or ending with '-'")
      .describe("unique in the fleet"),
    artifact: ArtifactSchema.optional(),
    install: InstallSchema.prefault({}),
    run: RunSchema,
    secrets: SecretsSchema,
    secretFiles: SecretFilesSchema,
    resources: ResourcesSchema.prefault({}),
    instances: z.int().min(0).max(SPEC_LIMITS.instances).default(SPEC_DEFAULTS.instances),
    constraints: z
      .record(labelKey, z.union([labelValue, z.array(labelValue).min(1)], { error: "expected a label value or a list of them" }))
      .default({})
      .describe("label = value, or label in a list"),
    spread: labelKey.optional().describe("a label key: spread instances over its values"),
    health: HealthSchema.optional(),
    update: UpdateSchema.prefault({}),
    failover: FailoverSchema.prefault({}),
  })
  .superRefine(
    (s, ctx) => {
      // `when` below lets this run beside other problems, so the value is not yet
      // known to be well-formed everywhere: read only what is checked here.
      const canary: unknown = s.update?.canary;
      if (typeof canary === "number" && typeof s.instances === "number" && canary > s.instances) {
        ctx.addIssue({
          code: "custom",
          path: ["update", "canary"],
          ...comparison({ path: ["update", "canary"], value: canary }, "must not exceed", { path: ["instances"], value: s.instances }),
        });
      }
      // One variable, one source: run.env or a secret, never both (which would win is a guess).
      const env: unknown = s.run?.env;
      const secrets: unknown = s.secrets;
      if (env && typeof env === "object" && secrets && typeof secrets === "object") {
        for (const k of Object.keys(secrets)) {
          if (Object.hasOwn(env, k)) ctx.addIssue({ code: "custom", path: ["secrets", k], message: `${k} is also set in run.env: keep one` });
        }
      }
      const files: unknown = s.secretFiles;
      const total = (secrets && typeof secrets === "object" ? Object.keys(secrets).length : 0) + (files && typeof files === "object" ? Object.keys(files).length : 0);
      if (total > MAX_SPEC_SECRETS) ctx.addIssue({ code: "custom", path: ["secrets"], message: `at most ${MAX_SPEC_SECRETS} secrets and secretFiles together (found ${total})` });
      // A rollout never moves more than every instance at once; scaled to 0, the default 1 still holds.
      for (const field of ["maxUnavailable", "maxSurge"] as const) {
        const v: unknown = s.update?.[field];
        if (typeof v !== "number" || typeof s.instances !== "number" || v <= Math.max(1, s.instances)) continue;
        ctx.addIssue({
          code: "custom",
          path: ["update", field],
          ...comparison({ path: ["update", field], value: v }, "must not exceed", { path: ["instances"], value: s.instances }, s.instances === 0 ? "; 1 is allowed at 0 instances" : ""),
        });
      }
    },
    // Checked even when other fields are wrong, so one run reports everything; but not
    // when the two fields it reads are themselves wrong.
    {
      when: (p) =>
        !p.issues.some((i) =>
          i.path?.length ? i.path[0] === "instances" || i.path[0] === "update" : i.code !== "unrecognized_keys",
        ),
    },
  );

/** What a user writes; every optional field may be left out. */
export type SpecInput = z.input<typeof SpecInputSchema>;
type ParsedSpec = z.output<typeof SpecInputSchema>;

export type SpecResult = { spec: ServiceSpec; issues: [] } | { spec?: undefined; issues: SpecIssue[] };

/** Validates and normalizes; every problem comes back as a value, none is thrown. */
export function validateSpec(raw: unknown, o: { stored?: boolean } = {}): SpecResult {
  try {
    const parsed = SpecInputSchema.safeParse(raw, { error: specErrorMap });
    if (!parsed.success) return { issues: toSpecIssues(parsed.error.issues, writtenIn(raw)) };
    const refused = o.stored ? [] : inputRules(parsed.data);
    if (refused.length > 0) return { issues: toSpecIssues(refused, writtenIn(raw)) };
    return { spec: fromParsed(parsed.data), issues: [] };
  } catch (e) {
    // A rule that throws is a bug in berth, but the caller is a boundary (the CLI, the
    // controller's Plan/Apply): it must answer "this spec is refused", not "internal error".
    return { issues: [{ path: [], message: `could not be validated (a bug in berth; please report it): ${e instanceof Error ? e.message : String(e)}`, at: "value" }] };
  }
}

/**
 * Rules a spec an operator applies must pass, but one already stored (by an older berth,
 * which did not have them) or sent on the wire need not: refusing those would make a
 * stored service unreadable after an upgrade (quarantined) and an agent refuse its copy.
 * Only rules about what a spec means belong here, never a bound that keeps berth safe.
 */
function inputRules(spec: z.output<typeof SpecInputSchema>): z.core.$ZodIssue[] {
  const u = spec.update;
  const healthy = tryParseDurationMs(String(u.healthyDeadline)) ?? Number.NaN;
  const progress = tryParseDurationMs(String(u.progressDeadline)) ?? Number.NaN;
  const drain = tryParseDurationMs(String(u.drainTime)) ?? Number.NaN;
  // A batch drains its copies in place first, then has healthyDeadline to come into service: progress
  // may rightly take both, and a shorter progressDeadline would fail batches within their own deadline.
  if (!(drain > 0 && healthy + drain >= progress)) return [];
  const issue = comparison(
    { path: ["update", "progressDeadline"], value: u.progressDeadline },
    "must be longer than",
    [
      { path: ["update", "healthyDeadline"], value: u.healthyDeadline },
      { path: ["update", "drainTime"], value: u.drainTime },
    ],
    ", or a batch that drains and then takes its healthyDeadline would fail for want of progress",
  );
  return [{ code: "custom", path: ["update", "progressDeadline"], input: u.progressDeadline, ...issue }];
}

/** validateSpec that throws SpecValidationError, for callers holding trusted data. */
export function normalizeSpec(raw: unknown): ServiceSpec {
  const result = validateSpec(raw);
  if (!result.spec) throw new SpecValidationError(result.issues);
  return result.spec;
}

const ms = (d: string | number): number => parseDurationMs(String(d));
const strings = (xs: readonly (string | number | boolean)[]): string[] => xs.map(String);

function fromParsed(p: ParsedSpec): ServiceSpec {
  return {
    name: p.name,
    artifact: artifactOf(p.artifact),
    install: {
      apt: [...p.install.apt],
      steps: p.install.steps.map((s) => ({ run: s.run, timeoutMs: ms(s.timeout) })),
    },
    run: {
      command: p.run.command,
      args: strings(p.run.args),
      env: Object.fromEntries(Object.entries(p.run.env).map(([k, v]) => [k, String(v)])),
      user: p.run.user ?? SPEC_DEFAULTS.run.user,
      stopSignal: p.run.stopSignal,
      stopTimeoutMs: ms(p.run.stopTimeout),
      ...(p.run.restart ? { restart: { attempts: p.run.restart.attempts, delayMs: ms(p.run.restart.delay), maxDelayMs: ms(p.run.restart.maxDelay) } } : {}),
    },
    secrets: secretRefs(p.secrets),
    secretFiles: secretRefs(p.secretFiles),
    resources: { ...p.resources },
    instances: p.instances,
    constraints: Object.fromEntries(
      Object.entries(p.constraints).map(([k, v]) => [k, Array.isArray(v) ? strings(v) : [String(v)]]),
    ),
    spread: p.spread ?? SPEC_DEFAULTS.spread,
    health: p.health ? healthOf(p.health) : null,
    update: {
      maxUnavailable: p.update.maxUnavailable,
      maxSurge: p.update.maxSurge,
      minHealthyTimeMs: ms(p.update.minHealthyTime),
      healthyDeadlineMs: ms(p.update.healthyDeadline),
      progressDeadlineMs: ms(p.update.progressDeadline),
      canary: p.update.canary,
      autoRevert: p.update.autoRevert,
      drainTimeMs: ms(p.update.drainTime),
    },
    failover: {
      enabled: p.failover.enabled,
      stopAfterDisconnectMs: ms(p.failover.stopAfterDisconnect),
    },
  };
}

/** Version 0: the controller fills in the stored version when it accepts the spec. */
function secretRefs(m: Record<string, string>): Record<string, SecretRef> {
  return Object.fromEntries(Object.entries(m).map(([k, secret]) => [k, { secret, version: 0 }]));
}

function artifactOf(a: ParsedSpec["artifact"]): Artifact | null {
  if (a === undefined) return null;
  // The digest of a local artifact is known only once the CLI has tarred it.
  if (typeof a === "string") return { kind: "stored", sha256: "", source: a };
  return { kind: "url", url: a.url, sha256: a.sha256.toLowerCase() };
}

function healthOf(h: NonNullable<ParsedSpec["health"]>): HealthSpec {
  return {
    check: checkOf(h),
    intervalMs: ms(h.interval),
    timeoutMs: ms(h.timeout),
    healthyThreshold: h.healthyThreshold,
    unhealthyThreshold: h.unhealthyThreshold,
  };
}

function checkOf(h: NonNullable<ParsedSpec["health"]>): HealthCheck {
  if (h.http) return { kind: "http", port: h.http.port, path: h.http.path, status: h.http.status };
  if (h.tcp) return { kind: "tcp", port: h.tcp.port };
  if (h.exec) return { kind: "exec", command: strings(h.exec.command) };
  // Unreachable: HealthSchema refuses a health block without a check.
  throw new SpecValidationError([{ path: ["health"], message: "needs a check: one of http, tcp or exec", at: "value" }]);
}

/**
 * The inverse of normalizeSpec: the spec as a user would write it, every field explicit,
 * durations exact (1500 → "1s500ms"), so normalizeSpec(toSpecInput(s)) equals s. A stored
 * artifact becomes its source path again: its sha256 comes from the tarball, not the file.
 */
export function toSpecInput(spec: ServiceSpec): SpecInput {
  const out: SpecInput = {
    name: spec.name,
    install: {
      apt: [...spec.install.apt],
      steps: spec.install.steps.map((s) => ({ run: s.run, timeout: exactDuration(s.timeoutMs) })),
    },
    run: {
      command: spec.run.command,
      args: [...spec.run.args],
      env: { ...spec.run.env },
      ...(spec.run.user ? { user: spec.run.user } : {}),
      stopSignal: spec.run.stopSignal,
      stopTimeout: exactDuration(spec.run.stopTimeoutMs),
      ...(spec.run.restart ? { restart: { attempts: spec.run.restart.attempts, delay: exactDuration(spec.run.restart.delayMs), maxDelay: exactDuration(spec.run.restart.maxDelayMs) } } : {}),
    },
    secrets: Object.fromEntries(Object.entries(spec.secrets).map(([k, r]) => [k, r.secret])),
    secretFiles: Object.fromEntries(Object.entries(spec.secretFiles).map(([k, r]) => [k, r.secret])),
    resources: { ...spec.resources },
    instances: spec.instances,
    constraints: Object.fromEntries(Object.entries(spec.constraints).map(([k, v]) => [k, [...v]])),
    ...(spec.spread ? { spread: spec.spread } : {}),
    update: {
      maxUnavailable: spec.update.maxUnavailable,
      maxSurge: spec.update.maxSurge,
      minHealthyTime: exactDuration(spec.update.minHealthyTimeMs),
      healthyDeadline: exactDuration(spec.update.healthyDeadlineMs),
      progressDeadline: exactDuration(spec.update.progressDeadlineMs),
      canary: spec.update.canary,
      autoRevert: spec.update.autoRevert,
      drainTime: exactDuration(spec.update.drainTimeMs),
    },
    failover: {
      enabled: spec.failover.enabled,
      stopAfterDisconnect: exactDuration(spec.failover.stopAfterDisconnectMs),
    },
  };
  if (spec.artifact) out.artifact = spec.artifact.kind === "url" ? { url: spec.artifact.url, sha256: spec.artifact.sha256 } : spec.artifact.source;
  if (spec.health) {
    const { check } = spec.health;
    out.health = {
      ...(check.kind === "http" ? { http: { port: check.port, path: check.path, status: check.status } } : {}),
      ...(check.kind === "tcp" ? { tcp: { port: check.port } } : {}),
      ...(check.kind === "exec" ? { exec: { command: [...check.command] } } : {}),
      interval: exactDuration(spec.health.intervalMs),
      timeout: exactDuration(spec.health.timeoutMs),
      healthyThreshold: spec.health.healthyThreshold,
      unhealthyThreshold: spec.health.unhealthyThreshold,
    };
  }
  return out;
}

/**
 * A duration string that parses back to exactly `ms`, unlike formatDurationMs (which
 * rounds for display): 90_500 → "1m30s500ms", 7_200_000 → "2h", 0 → "0s".
 */
export function exactDuration(ms: number): string {
  if (ms <= 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
