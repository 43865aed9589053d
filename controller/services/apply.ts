/**
 * `berth plan` and `berth apply`: parse and validate every file (the controller
 * trusts no client's validation), diff against what is stored, preview the
 * placement, and — for apply — commit all of it in one txn or nothing.
 */
import { applyRunAsRefusal } from "../../shared/spec/run-as.js";
import { parseSpecFile, formatSpecError } from "../../shared/spec/parse.js";
import { diffSpecs } from "../../shared/spec/diff.js";
import { isRole } from "../auth/tokens.js";
import { seesEnvValues } from "../secrets/redact.js";
import { closest } from "../../shared/closest.js";
import { unplacedLines } from "../scheduler/explain.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import type { SpecFile__Output } from "../../shared/gen/berth/v1/SpecFile.js";
import type { ServiceChange } from "../../shared/gen/berth/v1/ServiceChange.js";
import type { NewEvent } from "../events/event-log.js";
import { reconcile, type HostView } from "../reconcile/planner.js";
import { startRollout, type RolloutState } from "../rollout/next-step.js";
import { artifactDigest, referencedRevisions, withRevision, type InstanceRecord, type ServiceRecord } from "./records.js";

export const MAX_SPEC_FILES = 1000;
export const MAX_SPEC_BYTES = 256 * 1024;

export interface ApplyPlan {
  errors: string[];
  changes: ServiceChange[];
  puts: ServiceRecord[];
  deletes: string[];
  /** Rollouts started by this apply, one per service whose change restarts its copies. */
  rollouts: RolloutState[];
  events: NewEvent[];
}

/**
 * Fields whose change needs no new copy: how many there are, how rollouts move, the
 * environment the spec was applied for (a record's field, shown as a change), and where a
 * stored artifact was read from (the path as written: its digest is what runs, so moving
 * spec files around a repository restarts nothing).
 */
const IN_PLACE = /^(instances|update|environment|artifact\.source)(\.|$)/;

/** A change of anything else restarts the service's copies, through a rollout. */
export function restarts(paths: readonly string[]): boolean {
  return paths.some((p) => !IN_PLACE.test(p));
}

/**
 * The revision an automatic revert of the next rollout goes back to: the current
 * one, unless a rollout away from a good revision has not succeeded (it runs, is
 * paused, or failed) — then that good revision.
 */
export function lastGood(svc: Pick<ServiceRecord, "revision">, r: RolloutState | undefined): number {
  if (!r || r.status === "succeeded") return svc.revision;
  return r.autoReverted ? r.toRevision : r.fromRevision;
}

/**
 * A new current revision for `svc` and the rollout to it (an apply, `berth restart`):
 * the outgoing spec joins the history, kept while anything refers to it.
 */
export function newRevision(svc: ServiceRecord, spec: ServiceSpec, instances: readonly InstanceRecord[], current: RolloutState | undefined, nowMs: number, revision?: number, o: { restart?: boolean } = {}): { rec: ServiceRecord; rollout: RolloutState } {
  const to = revision ?? (svc.latestRevision ?? svc.revision) + 1;
  const from = lastGood(svc, current);
  const refs = referencedRevisions(instances.filter((i) => i.service === svc.name));
  refs.add(from);
  // A restart runs the same spec again: undoing it goes where undoing the revision it
  // restarted would (not back to that same spec), and that revision is kept for it. With
  // nowhere before (a first revision restarted), it replaced the one it restarted, as ever.
  const previousRevision = o.restart && svc.previousRevision ? svc.previousRevision : undefined;
  if (previousRevision) refs.add(previousRevision);
  // No rollout before it: its from revision was only ever created, never rolled out to and
  // seen through; the first step looks at whether it works (RolloutState.fromWorked).
  return { rec: withRevision(svc, to, spec, refs, nowMs, previousRevision === undefined ? {} : { previousRevision }), rollout: startRollout(svc.name, from, to, nowMs, { first: current === undefined }) };
}

export function planApply(o: {
  files: readonly SpecFile__Output[];
  prune: boolean;
  /** With prune: delete only these (a GitOps source prunes only what it created); absent, every service not in the files. */
  pruneOnly?: ReadonlySet<string>;
  services: readonly ServiceRecord[];
  instances: readonly InstanceRecord[];
  hosts: readonly HostView[];
  rollouts?: ReadonlyMap<string, RolloutState>;
  hasArtifact: (sha256: string) => boolean;
  /** apply needs the artifact stored; plan only shows what would change. */
  requireArtifacts: boolean;
  nowMs: number;
  actor: string;
  /** The caller's role: what it may store (shared/spec/run-as.ts: run.user root is an admin's). */
  role: string;
  /** The stored version of a secret, undefined when there is none: every reference must name one. */
  secretVersion?: (name: string) => number | undefined;
  /** The secrets stored, to name the one a misspelt reference most likely meant. */
  secretNames?: () => string[];
  /** The environment the specs are applied for, stored with each service; "" or absent: none. */
  environment?: string;
}): ApplyPlan {
  const environment = o.environment ?? "";
  const errors: string[] = [];
  if (o.files.length > MAX_SPEC_FILES) errors.push(`at most ${MAX_SPEC_FILES} files at once`);
  const specs = new Map<string, { spec: ServiceSpec; file: string; runUserAt: { line: number; column: number } }>();
  for (const f of o.files.slice(0, MAX_SPEC_FILES)) {
    const file = f.file.slice(0, 256) || "<unnamed>";
    if (f.content.length > MAX_SPEC_BYTES) {
      errors.push(`${file}: larger than ${MAX_SPEC_BYTES / 1024} KiB`);
      continue;
    }
    const parsed = parseSpecFile(f.content, file);
    errors.push(...parsed.errors.map(formatSpecError));
    const spec = parsed.spec;
    if (!spec) continue;
    if (spec.artifact?.kind === "stored") {
      if (!/^[0-9a-f]{64}$/.test(f.artifact_sha256)) {
        errors.push(`${file}: artifact: ${spec.artifact.source} was not uploaded (the CLI packs and uploads local artifacts)`);
        continue;
      }
      if (o.requireArtifacts && !o.hasArtifact(f.artifact_sha256)) {
        errors.push(`${file}: artifact: no artifact ${f.artifact_sha256.slice(0, 12)}… on the controller: upload it first`);
        continue;
      }
      spec.artifact = { ...spec.artifact, sha256: f.artifact_sha256 };
    }
    // The version stored now goes into the spec (never the value): a later new value is a change.
    let unknown = false;
    for (const field of ["secrets", "secretFiles"] as const) {
      for (const [k, ref] of Object.entries(spec[field])) {
        const version = o.secretVersion?.(ref.secret);
        if (version === undefined) {
          unknown = true;
          const near = closest(ref.secret, o.secretNames?.() ?? []);
          const fix = near ? `did you mean "${near}"? (else \`berth secret set ${ref.secret}\` first)` : `\`berth secret set ${ref.secret}\` first`;
          errors.push(formatSpecError({ file, ...parsed.position([field, k]), path: `${field}.${k}`, message: `no secret "${ref.secret}" on the controller: ${fix}` }));
        } else spec[field][k] = { secret: ref.secret, version };
      }
    }
    if (unknown) continue;
    const dup = specs.get(spec.name);
    if (dup) errors.push(`${file}: name: "${spec.name}" is also defined in ${dup.file}`);
    else specs.set(spec.name, { spec, file, runUserAt: parsed.position(["run", "user"]) });
  }

  const byName = new Map(o.services.map((s) => [s.name, s]));
  const changes: ServiceChange[] = [];
  const puts: ServiceRecord[] = [];
  const rollouts: RolloutState[] = [];
  const events: NewEvent[] = [];
  for (const [name, { spec, file, runUserAt }] of [...specs].sort(([a], [b]) => a.localeCompare(b))) {
    const old = byName.get(name);
    // A role that may not read run.env values (a viewer, who can plan but not apply) is not told
    // whether its values differ either: a plan that said "unchanged" for a right guess and
    // "run.env.X: (hidden) → (hidden)" for a wrong one would confirm a guessed value. Its values
    // count as the stored ones; a variable added or removed still shows, by name.
    if (old && isRole(o.role) && !seesEnvValues(o.role)) spec.run.env = Object.fromEntries(Object.entries(spec.run.env).map(([k, v]) => [k, Object.hasOwn(old.spec.run.env, k) ? old.spec.run.env[k]! : v]));
    const fields = diffSpecs(old?.spec, spec);
    // The environment is part of what an apply states: applying prod over staging is a change, even of nothing else.
    if (old && (old.environment ?? "") !== environment) fields.push({ path: "environment", from: old.environment ?? "", to: environment });
    const action = !old ? "create" : fields.length ? "update" : "unchanged";
    // Checked on every change, not only the one that set run.user: an operator's new
    // command in a root service would run as root as surely as a new root service.
    const refused = action === "unchanged" ? undefined : applyRunAsRefusal(spec, o.role);
    if (refused) {
      errors.push(formatSpecError({ file, ...runUserAt, path: "run.user", message: refused }));
      continue;
    }
    const ch: ServiceChange = { service: name, action, fields: fields.map((c) => ({ path: c.path, from_json: JSON.stringify(c.from) ?? "", to_json: JSON.stringify(c.to) ?? "" })) };
    // The same build, by digest, as the one stored: say where it runs and since when.
    const digest = artifactDigest(spec);
    const sameBuild = old !== undefined && digest !== "" && artifactDigest(old.spec) === digest;
    if (sameBuild) Object.assign(ch, { artifact_sha256: digest, artifact_environment: old.environment ?? "", artifact_since_ms: old.artifactSinceMs ?? 0 });
    const stamp = { environment, artifactSinceMs: sameBuild && (old.environment ?? "") === environment ? (old.artifactSinceMs ?? old.updatedAtMs) : o.nowMs };
    changes.push(ch);
    if (action === "unchanged") continue;
    const what = `${fields.map((f) => f.path).slice(0, 8).join(", ")}${fields.length > 8 ? " …" : ""}`;
    if (!old) {
      puts.push({ name, spec, revision: 1, latestRevision: 1, previousRevision: 0, history: [], createdAtMs: o.nowMs, updatedAtMs: o.nowMs, ...stamp });
      events.push({ type: "service.created", service: name, actor: o.actor, message: `revision 1, ${spec.instances} instance${spec.instances === 1 ? "" : "s"}${environment ? ` in ${environment}` : ""}` });
    } else if (!restarts(fields.map((f) => f.path))) {
      // Scaling, new rollout settings or another environment's name: the copies that run stay as they are.
      puts.push({ ...old, spec, updatedAtMs: o.nowMs, ...stamp });
      events.push({ type: "service.updated", service: name, actor: o.actor, message: `revision ${old.revision} (no restart): ${what}` });
    } else {
      const current = o.rollouts?.get(name);
      const n = newRevision(old, spec, o.instances, current, o.nowMs);
      // An operator's pause holds across a new apply, as a paused Deployment does in Kubernetes:
      // the new rollout waits for `berth rollout resume`, instead of the pause being lifted unsaid.
      const paused = current?.status === "paused";
      const rollout = paused ? { ...n.rollout, status: "paused" as const, reason: `${current.reason || "paused"}; kept for revision ${n.rec.revision} (berth rollout resume ${name})` } : n.rollout;
      puts.push({ ...n.rec, ...stamp });
      rollouts.push(rollout);
      ch.rollout_to = n.rec.revision;
      events.push({ type: "service.updated", service: name, actor: o.actor, message: `revision ${n.rec.revision}: ${what}` });
      events.push({ type: "rollout.started", service: name, actor: o.actor, message: `revision ${rollout.fromRevision} → ${rollout.toRevision}${paused ? `, paused as the rollout before it was: berth rollout resume ${name}` : ""}` });
    }
  }
  const deletes = o.prune ? o.services.filter((s) => !specs.has(s.name) && (!o.pruneOnly || o.pruneOnly.has(s.name))).map((s) => s.name) : [];
  for (const name of deletes) {
    changes.push({ service: name, action: "delete", fields: [] });
    events.push({ type: "service.deleted", service: name, actor: o.actor, message: "deleted (pruned by apply)" });
  }

  // Preview: what the reconciler would do with the new specs, without the clock moving.
  if (!errors.length) {
    const next = [...o.services.filter((s) => !deletes.includes(s.name) && !puts.some((p) => p.name === s.name)), ...puts];
    const preview = reconcile({ services: next, instances: o.instances, hosts: o.hosts, observed: new Map(), nowMs: o.nowMs, rollouts: new Set([...(o.rollouts?.keys() ?? []), ...rollouts.map((r) => r.service)]) });
    for (const ch of changes) {
      const planned = preview.puts.filter((p) => p.service === ch.service);
      ch.place = planned.filter((p) => p.hostId && !o.instances.some((i) => i.service === p.service && i.slot === p.slot && i.hostId === p.hostId)).length;
      ch.stop = preview.deletes.filter((d) => d.service === ch.service && o.instances.some((i) => i.service === d.service && i.slot === d.slot && i.hostId)).length;
      const mine = new RegExp(`^${ch.service}-\\d+$`);
      // Slots waiting out a reschedule backoff say so too: why they are not placed yet. And copies
      // that stay where the new spec no longer fits them (constraints no host meets): the change
      // is applied, but what the spec asks for is not where they run — said, not left to `status`.
      // One line per instance: a slot waiting out a backoff is in `held` too.
      const why = new Map<string, string>();
      for (const [id, reason] of [...preview.unplaced, ...preview.rescheduling, ...preview.held]) if (mine.test(id) && !why.has(id)) why.set(id, reason);
      ch.unplaced = unplacedLines([...why].map(([instance, reason]) => ({ instance, reason })));
    }
  }
  return { errors, changes, puts, deletes, rollouts, events };
}
