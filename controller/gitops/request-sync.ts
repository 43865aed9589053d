/**
 * "Sync now" — from `berth gitops sync` or the webhook, through any member: the
 * source's record gets a new syncRequestedAtMs, which the leader's runner follows.
 * A store write rather than a call to the leader, so it works whichever member
 * took the request and survives a leadership change.
 */
import type { EventLog } from "../events/event-log.js";
import { encodeRecord } from "../store/record.js";
import type { GitopsSources } from "./sources.js";
import { sourceKey } from "./source.js";

/** Returns false when the record changed meanwhile (the caller says "try again"). */
export async function requestSync(events: EventLog, gitops: GitopsSources, name: string, nowMs: number, actor: string, why: string): Promise<boolean> {
  const cur = gitops.get(name);
  if (!cur) return false;
  const key = sourceKey(name);
  const res = await events.txn(
    [{ key, modRevision: gitops.revisionOf(key) }],
    [{ type: "put", key, value: encodeRecord({ ...cur, syncRequestedAtMs: Math.max(nowMs, cur.syncRequestedAtMs + 1) }) }],
    [{ type: "gitops.sync-requested", actor, message: `source ${name}: sync requested (${why})` }],
  );
  await gitops.refresh(key);
  return res.succeeded;
}
