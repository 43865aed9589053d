import type { Artifact, ServiceSpec } from "../../../shared/spec/types.js";

/** A normalized spec with defaults, for installer tests. */
export function testSpec(over: { name?: string; artifact?: Artifact | null; install?: Partial<ServiceSpec["install"]>; env?: Record<string, string> } = {}): ServiceSpec {
  return {
    name: over.name ?? "web",
    artifact: over.artifact ?? null,
    install: { apt: over.install?.apt ?? [], steps: over.install?.steps ?? [] },
    run: { command: "./bin/web", args: [], env: over.env ?? {}, user: "", stopSignal: "SIGTERM", stopTimeoutMs: 20_000 },
    resources: { cpu: 1, memoryMb: 512, diskMb: 1024 },
    instances: 1,
    constraints: {},
    spread: "",
    health: null,
    update: {
      maxUnavailable: 1,
      maxSurge: 0,
      minHealthyTimeMs: 5000,
      healthyDeadlineMs: 60_000,
      progressDeadlineMs: 600_000,
      canary: 0,
      autoRevert: true,
      drainTimeMs: 5000,
    },
    failover: { enabled: true, stopAfterDisconnectMs: 0 },
  };
}
