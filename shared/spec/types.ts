/**
 * The service spec after validation and defaults: what the controller stores and
 * sends to agents (as JSON in Assignment.spec_json). Durations are in ms, sizes in
 * the unit their name gives. The YAML shape users write is DESIGN.md's "The
 * service spec"; shared/spec/schema.ts turns one into this (normalizeSpec) and back
 * (toSpecInput).
 */

export type Artifact =
  /**
   * A local file or folder, tarred and stored on the controller by sha256 (hex).
   * `source` is the path as written in the spec (relative to the spec file); `sha256` is
   * "" after normalizeSpec and is filled in once the CLI has tarred the source.
   */
  | { kind: "stored"; sha256: string; source: string }
  /** Fetched by each agent from an https URL and checked against sha256 (lowercase hex). */
  | { kind: "url"; url: string; sha256: string };

export interface InstallStep {
  run: string;
  timeoutMs: number;
}

export type HealthCheck =
  | { kind: "http"; port: number; path: string; status: number }
  | { kind: "tcp"; port: number }
  | { kind: "exec"; command: string[] };

export interface HealthSpec {
  check: HealthCheck;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface UpdateSpec {
  maxUnavailable: number;
  maxSurge: number;
  minHealthyTimeMs: number;
  healthyDeadlineMs: number;
  progressDeadlineMs: number;
  canary: number;
  autoRevert: boolean;
  drainTimeMs: number;
}

export interface FailoverSpec {
  enabled: boolean;
  stopAfterDisconnectMs: number;
}

/**
 * A named secret (`berth secret set`) and the version the controller found stored
 * when it accepted the spec: 0 until then (as a stored artifact's sha256 is "" until
 * it is uploaded). The version, never the value, is part of the spec, so a new
 * value is a change of the spec like any other: it takes a revision and rolls.
 */
export interface SecretRef {
  secret: string;
  version: number;
}

/** run.restart: a quick exit (within 30 s of its start) is restarted after delayMs, doubled each time up to maxDelayMs; past `attempts` in a row the instance is failed. */
export interface RestartSpec {
  attempts: number;
  delayMs: number;
  maxDelayMs: number;
}

export interface ServiceSpec {
  name: string;
  artifact: Artifact | null;
  install: { apt: string[]; steps: InstallStep[] };
  run: {
    command: string;
    args: string[];
    env: Record<string, string>;
    /** "" = berth-<service>, a system user the agent creates (shared/spec/run-as.ts) */
    user: string;
    stopSignal: NodeJS.Signals;
    stopTimeoutMs: number;
    /** How a process that exits on its own is restarted; absent: the defaults (SPEC_DEFAULTS.run.restart). */
    restart?: RestartSpec;
  };
  /** environment variable → the secret it holds (over run.env; no name in both) */
  secrets: Record<string, SecretRef>;
  /** absolute path under /run/secrets/ → the secret written there, mode 0400, owned by run.user */
  secretFiles: Record<string, SecretRef>;
  resources: { cpu: number; memoryMb: number; diskMb: number };
  instances: number;
  /** label → allowed values (a single value is a list of one) */
  constraints: Record<string, string[]>;
  /** a label key, or "" for none */
  spread: string;
  /** null: no health check; the instance counts as healthy once running */
  health: HealthSpec | null;
  update: UpdateSpec;
  failover: FailoverSpec;
}
