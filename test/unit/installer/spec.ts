import type { Artifact, ServiceSpec } from "../../../shared/spec/types.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";

/** A normalized spec with the schema's own defaults, for installer tests. */
export function testSpec(over: { name?: string; artifact?: Artifact | null; install?: Partial<ServiceSpec["install"]>; env?: Record<string, string> } = {}): ServiceSpec {
  const base = normalizeSpec({ name: over.name ?? "web", run: { command: "./bin/web", env: over.env ?? {} } });
  // Artifacts and steps are given here in their normalized form (a digest, timeoutMs).
  return { ...base, artifact: over.artifact ?? null, install: { apt: over.install?.apt ?? [], steps: over.install?.steps ?? [] } };
}
