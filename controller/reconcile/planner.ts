/**
 * The reconcile decision, pure (STYLE.md: Kubernetes' syncHandler, Nomad's
 * reconciler): from the stored records, what the hosts report, and the clock,
 * compute the record changes that move the fleet toward its specs. The shell
 * commits them in one txn and re-derives everything on the next pass; nothing
 * is remembered between passes.
 *
 * Level-triggered and idempotent: running it twice on the same input gives the
 * same output, and running it on its own output gives nothing to do.
 */
import { wantsRoot } from "../../shared/spec/run-as.js";
import type { NewEvent } from "../events/event-log.js";
import type { HostRecord } from "../hosts/host.js";
import type { SchedHost, Snapshot } from "../scheduler/types.js";
import { schedule, type SlotRef } from "../scheduler/schedule.js";
import { formatDurationMs } from "../../shared/duration.js";
import { clearFailures, DEFAULT_RESCHEDULE, describeFailures, recordFailure, rescheduleDecision, type ReschedulePolicy } from "../reschedule/policy.js";
import { SELF_FENCED } from "../../shared/fence.js";
import { instanceId, MAX_LEFT_COPIES, nextEpoch, observedCopy, specOf, type InstanceRecord, type LeftCopy, type ObservedInstance, type ServiceRecord } from "../services/records.js";


export interface HostView {
  rec: HostRecord;
  /** Controller clock of the host's last heartbeat; undefined: none since this controller started. */
  lastHeartbeatMs?: number;
  /** Capacity for scheduling (from facts and usage). */
  capacity: SchedHost["capacity"];
  artifacts: readonly string[];
  /**
   * Held by a record this controller cannot read (quarantined; its claim is still
   * stored): nothing may be placed here, or every commit would fail on the claim.
   */
  blocked?: boolean;
}

export interface ReconcileInput {
  services: readonly ServiceRecord[];
  instances: readonly InstanceRecord[];
  hosts: readonly HostView[];
  /** What each host reports running, by host id. */
  observed: ReadonlyMap<string, ObservedInstance>;
  nowMs: number;
  /** Failover settings and state (issue 5). Omitted: failover on, nothing paused. */
  failover?: FailoverInput;
  /** Services with a rollout record: their revisions change only through it. */
  rollouts?: ReadonlySet<string>;
  /**
   * The revision a brand-new copy of a service starts on while its rollout has not
   * succeeded (scaling up mid-rollout): the last good one, which the rollout then
   * moves like any other. Absent: the service's current revision.
   */
  newCopyRevision?: ReadonlyMap<string, number>;
  /** How failed slots are rescheduled (reschedule/policy.ts). @default DEFAULT_RESCHEDULE */
  reschedule?: ReschedulePolicy;
  /**
   * The services this pass decides about (the reconcile loop's units). The
   * instances of every other service are left exactly as they are: kept where they
   * run, occupying their hosts, neither stopped nor placed. Absent: every service.
   */
  scope?: ReadonlySet<string>;
  /**
   * Hosts removed by `berth host remove` (their record is gone, their certificate
   * refused): an instance still naming one is replaced at once. Only these: a host
   * missing for another reason (an unreadable record) keeps its instance held.
   */
  removedHosts?: ReadonlySet<string>;
  /**
   * Before this time a move (host drain, pin) takes no old copy out of the endpoints,
   * as a rollout takes none (rollout/next-step.ts FOLLOWER_GRACE_MS): the leader's term
   * start plus that grace. Absent: no hold.
   */
  takeOutFromMs?: number;
}

export interface FailoverInput {
  /** The mass-failure guard holds replacements back (DESIGN.md, "Host lifecycle"). */
  paused: boolean;
  /** When this controller started: the last contact of hosts it never heard from. */
  controllerStartedAtMs: number;
  /** Added to stopAfterDisconnect (with the service's stop timeout) before a replacement starts. @default DEFAULT_FENCE_MARGIN_MS */
  fenceMarginMs?: number;
}

/**
 * The fencing margin: covers the agent's check period (100 ms) and, should the
 * agent be dead, its watchdog's lag (WATCHDOG_LAG_MS, 500 ms: grace, check period,
 * a slow read), with the rest for the last heartbeat in flight.
 */
export const DEFAULT_FENCE_MARGIN_MS = 1000;

/**
 * When a lost instance may be replaced. Without self-fencing: now. With it, the
 * isolated copy stops itself stopAfterDisconnect after it last heard from us,
 * then takes up to its stop timeout to exit; the replacement waits for both plus
 * a margin for the ack in flight and the agent's check period — or, when the
 * agent is dead, its fencing watchdog's lag (agent/supervisor/fence-lease.ts). Worked example:
 * last heartbeat 10:00:00.0, stopAfterDisconnect 5s, stopTimeout 2s, margin 1s →
 * the replacement starts no sooner than 10:00:08.0.
 */
export function replaceableAtMs(h: HostView, spec: { failover: { stopAfterDisconnectMs: number }; run: { stopTimeoutMs: number } }, f: FailoverInput): number {
  if (spec.failover.stopAfterDisconnectMs <= 0) return 0;
  const lastContact = h.lastHeartbeatMs ?? f.controllerStartedAtMs;
  return lastContact + spec.failover.stopAfterDisconnectMs + spec.run.stopTimeoutMs + (f.fenceMarginMs ?? DEFAULT_FENCE_MARGIN_MS);
}

export interface ReconcileOutput {
  /** Earliest moment a pass has something to do that no event will announce (a fencing wait). */
  wakeAtMs?: number;
  puts: InstanceRecord[];
  deletes: { service: string; slot: number }[];
  /** Every instance record as this pass leaves them (the records with puts and deletes applied). */
  after: InstanceRecord[];
  /** Hosts whose drain is done: their instance has left. */
  drained: string[];
  events: NewEvent[];
  /** instance id → why it waits for a host */
  unplaced: Map<string, string>;
  /** instance id → why a lost instance is not replaced (yet), or a failed one not rescheduled yet */
  held: Map<string, string>;
  /** instance id → why a failed instance waits to be placed again (also in held): its backoff. */
  rescheduling: Map<string, string>;
  /** Instances asked to leave their host (drain, cordon, no longer fits) that no host can take (also in held). */
  stuck: Set<string>;
}

const key = (service: string, slot: number): string => `${service}/${slot}`;

/** `i` with these copies left on lost hosts (InstanceRecord.leftOn); none: the field absent, as in records from before it. */
function withLeftCopies(i: InstanceRecord, left: LeftCopy[]): InstanceRecord {
  const { leftOn: _gone, ...rest } = i;
  return left.length ? { ...rest, leftOn: left.slice(-MAX_LEFT_COPIES) } : rest;
}

/** What the instance.lost event adds when nothing stops the lost copy (failover.stopAfterDisconnect off). */
const leftCopyNote = (hostId: string): string => `; if it still runs on ${hostId} (a host cut off rather than stopped), its agent stops it when the host is back`;

/** `i` noting that its copy `epoch` on `hostId`, a host judged down, may still run there. */
function leaveCopy(i: InstanceRecord, hostId: string, epoch: number, atMs: number): InstanceRecord {
  return withLeftCopies(i, [...(i.leftOn ?? []).filter((l) => l.hostId !== hostId), { hostId, epoch, atMs }]);
}

/**
 * Whether nothing stops the copy of `revision` on a host judged down: its own spec (the one its
 * agent runs, not the service's newest) has no failover.stopAfterDisconnect.
 */
const unfenced = (svc: ServiceRecord, revision: number): boolean => specOf(svc, revision).failover.stopAfterDisconnectMs <= 0;

export function reconcile(input: ReconcileInput): ReconcileOutput {
  const out: ReconcileOutput = { puts: [], after: [], deletes: [], drained: [], events: [], unplaced: new Map(), held: new Map(), rescheduling: new Map(), stuck: new Set() };
  const policy = input.reschedule ?? DEFAULT_RESCHEDULE;
  const { scope } = input;
  const inScope = (service: string): boolean => scope === undefined || scope.has(service);
  // Out of scope, a spec is not even read: a unit that is backing off may hold a bad one.
  const scoped = scope === undefined ? input.services : input.services.filter((s) => scope.has(s.name));
  const services = new Map(scoped.map((s) => [s.name, s]));
  const hosts = new Map(input.hosts.map((h) => [h.rec.id, h]));
  const changed = new Map<string, InstanceRecord>();
  const current = (i: InstanceRecord): InstanceRecord => changed.get(key(i.service, i.slot)) ?? i;
  const put = (i: InstanceRecord): void => void changed.set(key(i.service, i.slot), i);
  const wake = (at: number): void => void (out.wakeAtMs = Math.min(out.wakeAtMs ?? Number.POSITIVE_INFINITY, at));
  const observedFor = (hostId: string, i: InstanceRecord, epoch: number): ObservedInstance | undefined => observedCopy(input.observed, hostId, i, epoch);
  const isRemoved = (hostId: string): boolean => Boolean(input.removedHosts?.has(hostId)) && !hosts.has(hostId);

  for (const orig of input.instances) {
    let i = orig;
    if (!inScope(i.service)) continue;
    const svc = services.get(i.service);
    if (!svc) continue; // deleted: the scheduler stops it
    // 0a. A copy left on a lost host is gone once that host is ready again (its agent
    // stopped the superseded copy first). A removed host's stays while its removal is
    // remembered: a cut-off agent learns of it only when it reconnects.
    if (i.leftOn?.length) {
      const still = i.leftOn.filter((l) => {
        const h = hosts.get(l.hostId);
        return h !== undefined ? h.rec.health !== "ready" : Boolean(input.removedHosts?.has(l.hostId));
      });
      if (still.length !== i.leftOn.length) i = withLeftCopies(i, still);
    }
    // 0. Scaled down, then up again before its drain ended: back in service, not restarted.
    if (i.scaledDown && i.slot < svc.spec.instances) {
      const { scaledDown: _gone, ...rest } = i;
      i = { ...rest, drainingSinceMs: null };
      out.events.push({ type: "instance.back", service: i.service, host: i.hostId, message: `${instanceId(i.service, i.slot)} is back in the endpoints: scaled up again before it stopped` });
    }
    // 1. A move (host drain, pin) hands over like a rollout's retire: once the new
    // copy is in service the old one leaves the endpoints, and drainTime later it
    // stops and the slot moves — so load balancers following the endpoints stop
    // sending it requests before it stops. A rollout's surge copy takes over only
    // when the rollout retires the old copy. A move is abandoned when its target
    // is lost, its new copy fails, or that copy is not healthy when the drain ends.
    if (i.moveTo) {
      const target = hosts.get(i.moveTo.hostId);
      const o = observedFor(i.moveTo.hostId, i, i.moveTo.epoch);
      const servingLost = !i.hostId || hosts.get(i.hostId)?.rec.health === "down" || isRemoved(i.hostId);
      const update = svc.spec.update;
      // Not draining yet, a plain move drains the old copy as soon as the new one is in service.
      if (!i.moveTo.surge && !servingLost && i.drainingSinceMs == null && o?.state === "healthy") {
        // In service, and followers of the endpoints back after a change of leader.
        const inServiceAt = Math.max(o.sinceMs + update.minHealthyTimeMs, input.takeOutFromMs ?? 0);
        if (input.nowMs >= inServiceAt) {
          i = { ...i, moveTo: { ...i.moveTo, drained: true }, drainingSinceMs: input.nowMs };
          out.events.push({ type: "instance.draining", service: i.service, host: i.hostId, message: `${instanceId(i.service, i.slot)}: the new copy on ${i.moveTo!.hostId} is in service; the old one on ${i.hostId} left the endpoints and stops in ${formatDurationMs(update.drainTimeMs)}` });
        } else {
          wake(inServiceAt);
        }
      }
      const moveTo = i.moveTo!;
      const drainEnd = i.drainingSinceMs != null ? i.drainingSinceMs + update.drainTimeMs : undefined;
      const drainOver = drainEnd !== undefined && input.nowMs >= drainEnd;
      // A retire (the rollout's, or a move's own drain) that ends with the new copy out
      // of service would leave the slot with nothing in service: the old copy stays instead.
      const retiring = Boolean(moveTo.surge) || Boolean(moveTo.drained);
      const retireFailed = retiring && !servingLost && drainOver && o?.state !== "healthy";
      if (!target || target.rec.health === "down" || o?.state === "failed" || retireFailed) {
        const why = o?.state === "failed" ? `failed on the new host: ${o.detail}` : retireFailed ? "the new copy is not healthy at the end of the drain; the old one stays" : "the new host is gone";
        // A target judged down may only be cut off, its new copy running on.
        const left = target?.rec.health === "down" && unfenced(svc, moveTo.revision ?? i.revision);
        out.events.push({ type: "instance.move-abandoned", service: i.service, host: moveTo.hostId, message: `${instanceId(i.service, i.slot)}: ${why}${left ? leftCopyNote(moveTo.hostId) : ""}` });
        if (left) i = leaveCopy(i, moveTo.hostId, moveTo.epoch, input.nowMs);
        // The old copy is the slot's again: back in service if this move or a retire had
        // drained it (a rollout's own drain of it stays).
        i = { ...i, moveTo: null, drainingSinceMs: retiring ? null : i.drainingSinceMs, lastEpoch: Math.max(i.lastEpoch ?? 0, moveTo.epoch), failures: o?.state === "failed" ? recordFailure(i.failures, moveTo.hostId, input.nowMs, policy, failureOf(o)) : i.failures };
      } else if (servingLost || (drainOver && (moveTo.surge || o?.state === "healthy"))) {
        const why = servingLost ? "its old host is gone" : moveTo.surge ? "retired after draining" : "drained, the new copy in service";
        // The old copy on a host judged down (not removed: its agent was told to stop) may run on.
        const left = servingLost && i.hostId !== "" && hosts.get(i.hostId)?.rec.health === "down" && unfenced(svc, i.revision);
        out.events.push({ type: "instance.moved", service: i.service, host: moveTo.hostId, message: `${instanceId(i.service, i.slot)} moved from ${i.hostId || "-"} (${why})${left ? leftCopyNote(i.hostId) : ""}` });
        if (left) i = leaveCopy(i, i.hostId, i.epoch, input.nowMs);
        i = { ...i, hostId: moveTo.hostId, epoch: moveTo.epoch, revision: moveTo.revision ?? i.revision, moveTo: null, drainingSinceMs: null };
      } else if (drainEnd !== undefined && !drainOver) {
        wake(drainEnd);
      }
    }
    // 2. An instance that failed for good on its host is placed again, preferably
    // elsewhere, after a backoff that grows with its recent failures (reschedule/policy.ts).
    if (i.hostId && !i.moveTo) {
      const o = observedFor(i.hostId, i, i.epoch);
      if (o?.state === "failed") {
        const failures = recordFailure(i.failures, i.hostId, input.nowMs, policy, failureOf(o));
        const d = rescheduleDecision(failures, input.nowMs, policy);
        const next = d.atMs > input.nowMs ? `placing it again in ${formatDurationMs(d.atMs - input.nowMs)} (${describeFailures(d.recent, input.nowMs, policy)})` : "placing it again, on another host if one can take it";
        out.events.push({ type: "instance.failed", service: i.service, host: i.hostId, message: `${instanceId(i.service, i.slot)} failed: ${o.detail}; ${next}` });
        i = { ...i, hostId: "", drainingSinceMs: null, failures };
      }
    }
    // 2b. A copy its host's agent stopped by self-fencing (failover.stopAfterDisconnect)
    // on a host never judged down: the silence ended before failover began, and the agent
    // runs nothing until it is sent an assignment. Nothing would send it the unchanged one,
    // so the slot would stay stopped. Noted on the record (resumed: the host, the copy's
    // epoch, when its fenced stop began), which makes the member holding that host's stream
    // send the assignment again (member/assignments.ts) — the same copy, same epoch, so an
    // agent already running it again (a reconnect re-sends it too) does nothing. A decision
    // of the pass like any other, committed against the records it read, in order with any
    // failover of the slot. Both copies of a move or surge are looked at; once per stop.
    {
      const copies: [string, number][] = [];
      if (i.hostId) copies.push([i.hostId, i.epoch]);
      if (i.moveTo) copies.push([i.moveTo.hostId, i.moveTo.epoch]);
      for (const [hostId, epoch] of copies) {
        const on = hosts.get(hostId);
        const o = on && on.rec.health !== "down" ? observedFor(hostId, i, epoch) : undefined;
        if (o?.state !== "stopped" || !o.detail.startsWith(SELF_FENCED)) continue;
        // The same stop, reported again (a reconnect, or after a controller restart, whose
        // `now − age` lands a few ms off): two distinct fenced stops of one copy are at least
        // its stopAfterDisconnect apart, since the copy must run again and fall silent again.
        const sameStopMs = Math.min(1_000, svc.spec.failover.stopAfterDisconnectMs / 2);
        if (i.resumed?.some((r) => r.hostId === hostId && r.epoch === epoch && Math.abs(r.sinceMs - o.sinceMs) <= sameStopMs)) continue;
        // Only the slot's copies now: at most two entries.
        const kept = (i.resumed ?? []).filter((r) => r.hostId !== hostId && copies.some(([h, e]) => h === r.hostId && e === r.epoch));
        i = { ...i, resumed: [...kept, { hostId, epoch, sinceMs: o.sinceMs }] };
        out.events.push({ type: "instance.resumed", service: i.service, host: hostId, message: `${instanceId(i.service, i.slot)} (epoch ${epoch}) stopped itself on ${hostId} (${o.detail}), a host not judged down: its assignment is sent again` });
      }
    }
    // 3. A lost host's instance is replaced on a spare with the next epoch — unless
    // the service must not move, the guard holds failover back, or the isolated
    // copy may still be running (self-fencing: wait until it has stopped itself).
    const lostOn = i.hostId ? hosts.get(i.hostId) : undefined;
    if (lostOn?.rec.health === "down" && !i.moveTo) {
      const f = input.failover ?? { paused: false, controllerStartedAtMs: 0 };
      // The lost copy's own spec decides how it fences itself: the one its agent runs.
      const at = replaceableAtMs(lostOn, specOf(svc, i.revision), f);
      if (!svc.spec.failover.enabled) out.held.set(instanceId(i.service, i.slot), "failover is disabled for this service: it stays on its host");
      else if (f.paused) out.held.set(instanceId(i.service, i.slot), "failover paused: too many hosts went down at once (berth failover resume)");
      else if (input.nowMs < at) {
        out.held.set(instanceId(i.service, i.slot), `waiting for the lost copy to fence itself (until ${new Date(at).toISOString()})`);
        wake(at);
      } else {
        // Replaced at once, without self-fencing: nothing stops the old copy while its host is cut off.
        const left = unfenced(svc, i.revision);
        out.events.push({ type: "instance.lost", service: i.service, host: i.hostId, message: `${instanceId(i.service, i.slot)} (epoch ${i.epoch}) lost with its host; replacing it on a spare${left ? leftCopyNote(i.hostId) : ""}` });
        if (left) i = leaveCopy(i, i.hostId, i.epoch, input.nowMs);
        i = { ...i, hostId: "", drainingSinceMs: null };
      }
    }
    // 3b. A removed host's instance: its agent was told to stop it (or, cut off, fences
    // itself like any isolated agent); the slot is placed again now.
    if (i.hostId && !i.moveTo && isRemoved(i.hostId)) {
      out.events.push({ type: "instance.lost", service: i.service, host: i.hostId, message: `${instanceId(i.service, i.slot)} (epoch ${i.epoch}) lost: its host was removed (berth host remove); replacing it on a spare` });
      i = { ...i, hostId: "", drainingSinceMs: null };
    }
    // 4. Without a rollout (records from before rollouts existed), a new revision
    // runs in place. With one, the rollout alone changes revisions (rollout/drive.ts).
    if (i.revision !== svc.revision && !input.rollouts?.has(i.service)) i = clearFailures({ ...i, revision: svc.revision });
    if (i !== orig) put(i);
  }

  const instances = input.instances.map(current);
  const snapshot = snapshotOf({ ...input, services: scoped, reschedule: policy }, instances);
  // Slots waiting out a backoff: say why, and look again when it ends.
  for (const i of instances) {
    if (!services.has(i.service) || !i.failures?.length) continue;
    const d = rescheduleDecision(i.failures, input.nowMs, policy);
    if (d.atMs <= input.nowMs) continue;
    wake(d.atMs);
    if (!i.hostId) {
      out.held.set(instanceId(i.service, i.slot), d.reason);
      out.rescheduling.set(instanceId(i.service, i.slot), d.reason);
    }
  }
  const plan = schedule(snapshot, scope === undefined ? {} : { only: slotsOf(scope, services, instances) });
  const byKey = new Map(instances.map((i) => [key(i.service, i.slot), i]));

  for (const s of plan.stop) {
    // Scaled down: the copy leaves the endpoints first and stops drainTime later, as a
    // rollout's old copy does, so load balancers following them stop sending it requests
    // before it stops. A deleted service's copies, a copy with no host or one moving stop at once.
    const i = byKey.get(key(s.service, s.slot));
    const drainMs = services.get(s.service)?.spec.update.drainTimeMs ?? 0;
    if (i && s.hostId && !i.moveTo && drainMs > 0) {
      if (!i.scaledDown) {
        // Followers of the endpoints back after a change of leader first (takeOutFromMs).
        if ((input.takeOutFromMs ?? 0) > input.nowMs) {
          wake(input.takeOutFromMs!);
          continue;
        }
        const since = i.drainingSinceMs ?? input.nowMs;
        put({ ...i, scaledDown: true, drainingSinceMs: since });
        out.events.push({ type: "instance.draining", service: s.service, host: s.hostId, message: `${instanceId(s.service, s.slot)} left the endpoints: scaled down; it stops in ${formatDurationMs(Math.max(0, since + drainMs - input.nowMs))} (drainTime)` });
        wake(since + drainMs);
        continue;
      }
      const until = (i.drainingSinceMs ?? input.nowMs) + drainMs;
      if (input.nowMs < until) {
        wake(until);
        continue;
      }
    }
    out.deletes.push({ service: s.service, slot: s.slot });
    changed.delete(key(s.service, s.slot));
    const why = services.has(s.service) ? "scaled down" : "service deleted";
    if (s.hostId) out.events.push({ type: "instance.stopped", service: s.service, host: s.hostId, message: `${instanceId(s.service, s.slot)} stopped: ${why}` });
    // Its note of copies left on hosts judged down goes with the record: said once more, here.
    for (const l of i?.leftOn ?? []) out.events.push({ type: "instance.stopped", service: s.service, host: l.hostId, message: `${instanceId(s.service, s.slot)} (epoch ${l.epoch}) is no longer wanted (${why}); if it still runs on ${l.hostId}, a host judged down, its agent stops it when the host is back` });
  }
  for (const p of plan.place) {
    const svc = services.get(p.service)!;
    const prev = byKey.get(key(p.service, p.slot));
    const epoch = nextEpoch(prev);
    put({
      service: p.service,
      slot: p.slot,
      hostId: p.hostId,
      epoch,
      lastEpoch: epoch,
      // A replacement keeps its revision (a rollout in progress or failed moves it, not a failover).
      revision: prev ? prev.revision : (input.newCopyRevision?.get(p.service) ?? svc.revision),
      pinnedHost: prev?.pinnedHost ?? "",
      moveTo: null,
      ...(prev?.failures ? { failures: prev.failures } : {}),
      ...(prev?.leftOn ? { leftOn: prev.leftOn } : {}),
    });
    out.events.push({ type: "instance.placed", service: p.service, host: p.hostId, message: `${instanceId(p.service, p.slot)} placed${penaltyNote(prev, p.hostId, input.nowMs, policy)}` });
  }
  for (const m of plan.move) {
    const i = byKey.get(key(m.service, m.slot));
    if (!i || i.moveTo) continue; // already moving: one move at a time
    const epoch = nextEpoch(i);
    put({ ...i, moveTo: { hostId: m.hostId, epoch, revision: i.revision }, lastEpoch: epoch });
    out.events.push({ type: "instance.moving", service: m.service, host: m.hostId, message: `${instanceId(m.service, m.slot)} moving from ${m.fromHost}: the old copy leaves the endpoints once the new one is in service, and stops after drainTime${penaltyNote(i, m.hostId, input.nowMs, policy)}` });
  }
  // Asked to leave (its host drains or is cordoned, or no longer fits it) with nowhere to go: it
  // stays, and every command that shows it says why — a drain --wait would otherwise wait mute.
  const hostRecs = plan.stuck.length > 0 ? new Map(input.hosts.map((x) => [x.rec.id, x.rec])) : undefined;
  for (const k of plan.stuck) {
    // Already on its way (a move in flight took the one spare): not stuck, and its target is
    // no reason to report (the scheduler sees it reserved, as for plan.unplaced below).
    if (byKey.get(key(k.service, k.slot))?.moveTo) continue;
    const h = hostRecs?.get(k.hostId);
    const why = h?.draining ? "is draining" : h?.cordoned ? "is cordoned" : "no longer fits it";
    out.held.set(instanceId(k.service, k.slot), `stays on ${k.hostId}, which ${why}, until another host can take it: ${k.reason}`);
    out.stuck.add(instanceId(k.service, k.slot));
  }
  for (const u of plan.unplaced) {
    const prev = byKey.get(key(u.service, u.slot));
    // A move in flight reserves its target, which the scheduler then sees as not
    // ready: that is the move working, not a reason to report.
    if (prev?.moveTo) continue;
    out.unplaced.set(instanceId(u.service, u.slot), u.reason);
    if (!prev) {
      const svc = services.get(u.service)!;
      put({ service: u.service, slot: u.slot, hostId: "", epoch: 0, revision: input.newCopyRevision?.get(u.service) ?? svc.revision, pinnedHost: "", moveTo: null });
    }
  }

  // A draining host is done when no instance lives or lands on it.
  const final = byKey; // not read again below: it becomes the records as this pass leaves them
  for (const [k, v] of changed) final.set(k, v);
  for (const d of out.deletes) final.delete(key(d.service, d.slot));
  const busy = new Set([...final.values()].flatMap((i) => [i.hostId, i.moveTo?.hostId ?? ""]));
  for (const h of input.hosts) if (h.rec.draining && !busy.has(h.rec.id) && !h.blocked) out.drained.push(h.rec.id);

  out.puts = [...changed.values()];
  out.after = [...final.values()];
  return out;
}

/** Every slot of these services the scheduler decides: those with a record, and 0..instances-1. */
function slotsOf(scope: ReadonlySet<string>, services: ReadonlyMap<string, ServiceRecord>, instances: readonly InstanceRecord[]): SlotRef[] {
  const slots = new Map<string, Set<number>>([...scope].map((n) => [n, new Set<number>()]));
  for (const i of instances) slots.get(i.service)?.add(i.slot);
  for (const [name, set] of slots) for (let k = 0; k < (services.get(name)?.spec.instances ?? 0); k++) set.add(k);
  return [...slots].flatMap(([service, set]) => [...set].map((slot) => ({ service, slot })));
}

/**
 * What the scheduler sees of the fleet. Hosts that receive a moving instance are
 * reserved (nothing else goes there); draining hosts give up their instance
 * (health-gated, as a move): the scheduler moves an instance off a host it must
 * avoid. Not stored: after an uncordon the host is a candidate again.
 */
export function snapshotOf(input: Pick<ReconcileInput, "services" | "hosts" | "nowMs" | "reschedule">, instances: readonly InstanceRecord[]): Snapshot {
  const policy = input.reschedule ?? DEFAULT_RESCHEDULE;
  const hosts = new Map(input.hosts.map((h) => [h.rec.id, h]));
  const reserved = new Set(instances.flatMap((i) => (i.moveTo ? [i.moveTo.hostId] : [])));
  return {
    nowMs: input.nowMs,
    hosts: input.hosts.map((h) => ({
      id: h.rec.id,
      ready: h.rec.health === "ready" && !reserved.has(h.rec.id) && !h.blocked,
      cordoned: h.rec.cordoned || Boolean(h.rec.draining),
      labels: h.rec.labels,
      capacity: h.capacity,
      artifacts: h.artifacts,
      allowRoot: h.rec.facts?.allow_root === true,
    })),
    services: input.services.map((s) => ({
      name: s.name,
      instances: s.spec.instances,
      constraints: s.spec.constraints,
      spread: s.spec.spread,
      resources: s.spec.resources,
      artifactDigest: s.spec.artifact?.sha256 ?? "",
      root: wantsRoot(s.spec),
    })),
    instances: instances.map((i) => {
      const d = rescheduleDecision(i.failures, input.nowMs, policy);
      return {
        service: i.service,
        slot: i.slot,
        hostId: i.hostId,
        pinnedHost: i.pinnedHost,
        avoidHosts: hosts.get(i.hostId)?.rec.draining ? [i.hostId] : [],
        recentFailures: d.recent,
        waiting: d.atMs > input.nowMs,
      };
    }),
  };
}

/**
 * What an event about a slot placed or moved to `hostId` says about its recent
 * failures: why it went elsewhere, or why it went back to where it failed.
 */
function penaltyNote(prev: InstanceRecord | undefined, hostId: string, nowMs: number, policy: ReschedulePolicy): string {
  const d = rescheduleDecision(prev?.failures, nowMs, policy);
  if (d.recent.length === 0) return "";
  const here = d.recent.filter((f) => f.hostId === hostId);
  const what = describeFailures(d.recent, nowMs, policy);
  return here.length ? ` on ${hostId}, though it ${what}: no host without recent failures can take it` : ` away from where it ${what}`;
}

/**
 * What a failed copy leaves on its failure entry: the agent's words, and the install output
 * when the install is what failed (the agent's detail then starts "installing:", converger.ts;
 * a process that failed later still carries its successful install's output, which is no news).
 */
function failureOf(o: ObservedInstance): { detail: string; output?: string } {
  if (o.installTail && o.detail.startsWith("installing:")) return { detail: o.detail, output: o.installTail };
  // A crash loop's last lines (agent/converge/converger.ts) are its output, kept as an install's are.
  const crash = /^(crash loop: [^\n]*)\nlast output:\n([\s\S]*)$/.exec(o.detail);
  return crash ? { detail: crash[1]!, output: crash[2]! } : { detail: o.detail };
}
