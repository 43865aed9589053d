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
import { specToRestore, type ServiceRecord } from "./records.js";

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
  const kept = [
    { revision: svc.revision, spec: svc.spec, previousRevision: svc.previousRevision ?? 0, environment: svc.environment ?? "" },
    ...(svc.history ?? []).filter((h) => h.revision !== svc.revision).map((h) => ({ revision: h.revision, spec: specToRestore(svc, h.revision), previousRevision: h.previousRevision ?? 0, environment: h.environment ?? "" })),
  ].sort((a, b) => b.revision - a.revision);
  const specOf = new Map(kept.map((k) => [k.revision, k.spec]));
  return kept.map((k) => {
    const before = k.previousRevision ? specOf.get(k.previousRevision) : undefined;
    // The first revision changed everything; one whose predecessor was pruned: unknown.
    // Every spec here has the current instances and update, so they are never among the changes.
    const changed = before ? diffSpecs(before, k.spec).map((c) => c.path) : k.previousRevision === 0 ? [] : undefined;
    return { ...k, current: k.revision === svc.revision, changed };
  });
}
