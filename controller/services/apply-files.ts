/**
 * The one implementation of "apply these spec files": the gRPC Apply and a GitOps
 * source's sync both call applyFiles, so a commit applies exactly as `berth apply`
 * of the same folder would — same validation, same diff, same rollouts, one txn.
 * A caller may add writes of its own to that txn (a source's status record), so
 * what it records can never disagree with what was applied.
 */
import type { Logger } from "../../shared/log/logger.js";
import type { SpecFile__Output } from "../../shared/gen/berth/v1/SpecFile.js";
import type { Compare, Op, Store } from "../store/store.js";
import type { NewEvent } from "../events/event-log.js";
import type { HostRegistry } from "../hosts/registry.js";
import type { ReconcileLoop } from "../reconcile/loop.js";
import { secretsUsed, type SecretStore } from "../secrets/secret-store.js";
import { planApply, type ApplyPlan } from "./apply.js";
import type { ServiceState, UnchangedSince } from "./state.js";

export interface ApplyFilesDeps {
  state: ServiceState;
  loop: ReconcileLoop;
  registry: HostRegistry;
  /** Digests stored on this controller (checked synchronously while planning). */
  artifactsKnown: ReadonlySet<string>;
  secrets?: SecretStore;
  now: () => number;
  log: Logger;
}

/** The files do not validate: nothing was written. */
export class ApplyInvalidError extends Error {
  override name = "ApplyInvalidError";
  constructor(readonly errors: readonly string[]) {
    super(errors.join("\n"));
  }
}

/** Every attempt met a concurrent write (the reconcile loop, another apply): nothing was written. */
export class ApplyConflictError extends Error {
  override name = "ApplyConflictError";
}

export interface FilesRequest {
  files: readonly SpecFile__Output[];
  prune: boolean;
  /** With prune: only these may be deleted (planApply). */
  pruneOnly?: ReadonlySet<string>;
  actor: string;
  /** The caller's role: what it may store (run.user root is an admin's, shared/spec/run-as.ts). */
  role: string;
  /** The environment the files were rendered for, stored with each service; "" none. */
  environment?: string;
}

export function planFiles(d: ApplyFilesDeps, req: FilesRequest, requireArtifacts: boolean): ApplyPlan {
  return planApply({
    files: req.files,
    prune: req.prune,
    pruneOnly: req.pruneOnly,
    services: d.state.allServices(),
    instances: d.state.allInstances(),
    hosts: d.registry.all().map((h) => d.loop.hostView(h)),
    rollouts: new Map(d.state.allRollouts().map((r) => [r.service, r])),
    hasArtifact: (sha) => d.artifactsKnown.has(sha),
    requireArtifacts,
    nowMs: d.now(),
    actor: req.actor,
    role: req.role,
    environment: req.environment,
    secretVersion: (name) => d.secrets?.get(name)?.version,
    secretNames: () => d.secrets?.list().map((r) => r.name) ?? [],
  });
}

const ATTEMPTS = 5;

/**
 * Plans from the cache and commits in one txn, planning again from fresh state when
 * a concurrent write got there first. Throws ApplyInvalidError (nothing written),
 * CheckRevisionError (with `check`) or ApplyConflictError.
 */
export async function applyFiles(
  d: ApplyFilesDeps,
  req: FilesRequest & {
    /** `--check-index`: refuse if what the plan read changed after this store revision. */
    check?: { revision: number };
    /** The store the txn goes through: a leader's (a GitOps sync's) is its guarded one (EventLog.txn). */
    via?: Store;
    /** More writes for the same txn, from the plan that is committed. */
    extra?: (p: ApplyPlan) => { ops?: Op[]; compares?: Compare[]; events?: NewEvent[] };
  },
): Promise<ApplyPlan> {
  for (let attempt = 0; ; attempt++) {
    const readVersion = d.state.version;
    const p = planFiles(d, req, true);
    if (p.errors.length) throw new ApplyInvalidError(p.errors);
    // What the plan read: the services the files name, or with prune every one.
    const unchangedSince: UnchangedSince | undefined = req.check
      ? { revision: req.check.revision, services: req.prune ? "all" : p.changes.flatMap((c) => (c.action !== "delete" && c.service ? [c.service] : [])) }
      : undefined;
    // The secret versions the specs took must still be current when they are written.
    const secretCompares = [...new Set(p.puts.flatMap((s) => secretsUsed(s.spec)))].flatMap((n) => (d.secrets ? [d.secrets.compareFor(n)] : []));
    const x = req.extra?.(p) ?? {};
    const ok = await d.state.commit({
      putServices: p.puts,
      deleteServices: p.deletes,
      putRollouts: p.rollouts,
      events: [...p.events, ...(x.events ?? [])],
      readVersion,
      unchangedSince,
      extraCompares: [...secretCompares, ...(x.compares ?? [])],
      extraOps: x.ops,
      via: req.via,
    });
    if (ok) {
      d.log.info({ actor: req.actor, changed: p.puts.map((s) => s.name), deleted: p.deletes }, "apply");
      await d.loop.settle();
      return p;
    }
    if (attempt >= ATTEMPTS - 1) throw new ApplyConflictError("services changed concurrently; plan again");
  }
}
