/**
 * One pass of the failure detector (failure/detector.ts decides, this applies):
 * level-triggered over the heartbeat times this member knows, on the monotonic
 * clock — a wall clock stepped forward must not declare hosts down. Each
 * transition is a compare-and-set on the host record with its event; then the
 * mass-failure guard stores what its verdict calls for.
 */
import type { Logger } from "../../shared/log/logger.js";
import { judgeLiveness, nextDownAt, type DetectorConfig, type LivenessInput, type Transition } from "../failure/detector.js";
import type { FailoverGuard } from "../failure/failover-guard.js";
import { ConflictError, type HostRegistry } from "../hosts/registry.js";
import type { Store } from "../store/store.js";
import { closeStream } from "../member/host-changes.js";

export interface FailurePassDeps {
  registry: HostRegistry;
  /** What the detector judges: every host with its last heartbeat and fencing (failure/liveness.ts). */
  liveness: () => LivenessInput[];
  guard: FailoverGuard;
  log: Logger;
  now: () => number;
  mono: () => number;
  ttlMs: number;
  /** The store the judgements are written through: the term's guarded store in a group. */
  via?: Store;
  /**
   * Whether this term still holds its lease, as this process's own clock sees it
   * (election.ts: no keep-alive answered within the lease is a lease lost). A leader
   * resuming from a freeze longer than its lease has a successor: its pass judges
   * nothing — its write would be refused, but the stream of a host it judged down
   * would be closed already and that host sent to reconnect for nothing. Absent: always.
   */
  leading?: () => boolean;
  /**
   * Where this member hears hosts from, for a host declared down that it had no heartbeat
   * of at all (a group: which members' reports it holds, how old, whether each names the
   * host) — logged with the verdict, so such a verdict can be traced.
   */
  sources?: (hostId: string) => unknown;
  /** A host changed health (`to`): the reconcile loop may have work. */
  onTransition: (to: Transition["to"]) => void;
  /** After a pass that declared some host down: the reconcile loop's work (a replacement) is due now. */
  onTransitionsDone?: () => void;
}

/**
 * Returns when the next host falls due (detector.ts nextDownAt), on the monotonic clock; null: none.
 * `detector` may be worked out from the pass's own view of the hosts (a grace held open while they come back, failure/comeback-grace.ts).
 */
export async function failurePass(d: FailurePassDeps, detector: DetectorConfig | ((hosts: readonly LivenessInput[], nowMono: number) => DetectorConfig)): Promise<number | null> {
  if (d.leading && !d.leading()) return null;
  const t = d.now();
  const configFor = (hosts: readonly LivenessInput[], nowMono: number): DetectorConfig => (typeof detector === "function" ? detector(hosts, nowMono) : detector);
  const hosts = d.liveness();
  const nowMono = d.mono();
  const cfg = configFor(hosts, nowMono);
  const transitions = judgeLiveness(hosts, nowMono, cfg);
  for (const tr of transitions) {
    // A host whose record keeps changing under this pass (a Hello storm rewriting its facts)
    // is judged again next pass; the hosts after it are not left unjudged for it.
    const wrote = await d.registry.update(tr.id, (rec) => {
      // Asked again at each host: the lease may run out while earlier writes wait for etcd.
      if (rec.health === tr.to || (d.leading && !d.leading())) return undefined;
      const type = tr.to === "down" ? "host.down" : rec.health === "joining" ? "host.ready" : "host.back";
      const silence = tr.neverHeard
        ? `no heartbeat heard by this leader in its term (${(tr.silentForMs / 1000).toFixed(1)}s; ttl ${d.ttlMs / 1000}s)`
        : `no heartbeat for ${(tr.silentForMs / 1000).toFixed(1)}s (ttl ${d.ttlMs / 1000}s)`;
      const message = tr.to === "down" ? silence : type === "host.ready" ? "ready" : "back: heartbeats resumed";
      if (tr.to === "down") {
        d.log.warn({ host: rec.id, silentMs: tr.silentForMs, ...(tr.neverHeard ? { neverHeard: true, sources: d.sources?.(rec.id) } : {}) }, "host down");
        // The member holding a host declared down closes its stream when the record
        // reaches it (member/host-changes.ts). The leader closes its own before it
        // writes, so no heartbeat of that stream can land between the write and then.
        closeStream(d.registry, rec.id, "host declared down");
      } else d.log.info({ host: rec.id }, type === "host.ready" ? "host ready" : "host back");
      return { rec: { ...rec, health: tr.to, healthSinceMs: t }, event: { type, host: rec.id, message } };
    }, d.via).then(
      () => true,
      (err: unknown) => {
        if (!(err instanceof ConflictError)) throw err;
        d.log.warn({ host: tr.id, err: err.message }, "host record changed concurrently: judged again next pass");
        return false;
      },
    );
    if (wrote) d.onTransition(tr.to);
  }
  await d.guard.sync(d.via);
  // A host down makes its replacement due now: the loop decides at once, once per pass
  // (each transition's own kick is paced, so a mass failure does not run it back to back).
  // A host turning ready is no such hurry: while a fleet joins, every detector pass makes
  // some ready, and an unpaced fleet-wide reconcile pass after each was work per join
  // that grew with the fleet (README, "Joins and memory").
  if (transitions.some((tr) => tr.to === "down")) d.onTransitionsDone?.();
  // Nothing changed health: the hosts as read above give the next one due. Heartbeats
  // that arrived since only make it later, so waking then is at worst a pass early. Read
  // again, the fleet was a second copy of every host per pass (README, "Heartbeats at scale").
  if (transitions.length === 0) return nextDownAt(hosts, cfg);
  const after = d.liveness();
  return nextDownAt(after, configFor(after, d.mono()));
}
