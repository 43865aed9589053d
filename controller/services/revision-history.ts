/**
 * A service's revisions as the controller keeps them (ServiceRecord.revision and
 * .history, the specs `berth rollout undo` and reverts go back to): newest first,
 * each with what changed since the revision it replaced, when that one is still kept.
 * `instances` and `update` belong to the service, not to a revision (changing them makes
 * none, and going back to a revision keeps them: records.ts specToRestore), so every
 * revision is shown with the current ones — what going back to it would run — and they
 * are never among what a revision changed: a canary set after revision 2 was made is not
 * something revision 2 brought, nor does an undo to revision 1 show revision 1 "having" it.
 * When and by whom each was applied is not part of the record (the event log says
 * it, for as long as it keeps the events). Pure.
 */
import { diffSpecs } from "../../shared/spec/diff.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import type { ServiceRecord } from "./records.js";

/** What belongs to the service, not to a revision (records.ts specToRestore keeps them on an undo). */
const SERVICE_WIDE = /^(instances|update)(\.|$)/;

export interface RevisionEntry {
  revision: number;
  current: boolean;
  /** What was current before this revision became current; 0 = none (the first). */
  previousRevision: number;
  environment: string;
  spec: ServiceSpec;
  /** Spec paths that differ from previousRevision's spec; undefined when that spec is no longer kept. */
  changed: string[] | undefined;
}

export function revisionHistory(svc: ServiceRecord): RevisionEntry[] {
  const service = { instances: svc.spec.instances, update: svc.spec.update };
  const kept = [
    { revision: svc.revision, spec: svc.spec, previousRevision: svc.previousRevision ?? 0, environment: svc.environment ?? "" },
    ...(svc.history ?? []).filter((h) => h.revision !== svc.revision).map((h) => ({ revision: h.revision, spec: { ...h.spec, ...service }, previousRevision: h.previousRevision ?? 0, environment: h.environment ?? "" })),
  ].sort((a, b) => b.revision - a.revision);
  const specOf = new Map(kept.map((k) => [k.revision, k.spec]));
  return kept.map((k) => {
    const before = k.previousRevision ? specOf.get(k.previousRevision) : undefined;
    // The first revision changed everything; one whose predecessor was pruned: unknown.
    // Not the service's own settings: a scale or new rollout settings made no revision.
    const changed = before ? diffSpecs(before, k.spec).map((c) => c.path).filter((p) => !SERVICE_WIDE.test(p)) : k.previousRevision === 0 ? [] : undefined;
    return { ...k, current: k.revision === svc.revision, changed };
  });
}
