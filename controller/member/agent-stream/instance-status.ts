/**
 * InstanceStatus: what the host's instance is doing. It becomes the observed
 * state the reconcile loop decides from, may end a fencing, and becomes an event
 * when an operator would care.
 */
import type { InstanceStatus__Output } from "../../../shared/gen/berth/v1/InstanceStatus.js";
import { fencedCopyStopped } from "../../failure/fencing.js";
import { SELF_FENCED } from "../../../shared/fence.js";
import { validateInstanceStatus } from "../api/validate.js";
import type { AgentServiceDeps } from "./deps.js";
import { isCurrent, type AgentStream } from "./stream.js";
import { instanceId, type InstanceRecord } from "../../services/records.js";

/** Events worth an operator's time among instance state changes. */
const EVENT_STATES = new Set(["starting", "healthy", "unhealthy", "failed"]);

/**
 * Instance events a host may add to the fleet's log: a burst of EVENT_BURST, then one
 * a second. A host flipping a copy's state thousands of times (a bug, or a forged agent)
 * would otherwise push every other event out of the log (it keeps the last 10,000).
 */
export const EVENT_BURST = 60;
const EVENT_REFILL_PER_MS = 1 / 1000;

interface Budget {
  tokens: number;
  atMs: number;
  /** Said that the rest goes unlogged, in this run of throttling. */
  said: boolean;
}
/**
 * Per host, not per stream: a host that reconnected got a full burst again, so 30
 * reconnects in 5 s logged ~1,800 forged events. Entries idle long enough to be full
 * again are dropped once there are many (a removed host's, say).
 */
const budgets = new Map<string, Budget>();
const BUDGETS_PRUNE_AT = 20_000;

/** Whether this host may log one more instance event now; "first" the first time it may not (said once). Pure but for the map. */
function spend(hostId: string, nowMs: number): "ok" | "first" | "no" {
  if (budgets.size >= BUDGETS_PRUNE_AT && !budgets.has(hostId)) {
    for (const [h, x] of budgets) if (nowMs - x.atMs > EVENT_BURST / EVENT_REFILL_PER_MS) budgets.delete(h);
  }
  const b = budgets.get(hostId) ?? { tokens: EVENT_BURST, atMs: nowMs, said: false };
  budgets.set(hostId, b);
  b.tokens = Math.min(EVENT_BURST, b.tokens + Math.max(0, nowMs - b.atMs) * EVENT_REFILL_PER_MS);
  b.atMs = nowMs;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    if (b.tokens >= EVENT_BURST / 2) b.said = false;
    return "ok";
  }
  if (b.said) return "no";
  b.said = true;
  return "first";
}

/**
 * Whether the report may become an event: it is of the copy this host runs by the
 * fleet's records (the slot's, or its move's or surge's, at that epoch), or says that an
 * older copy stopped (after a move or a partition, the slot runs elsewhere by the time
 * its old host says so). A host cannot write another host's copies into the history.
 */
export function reportsOwnCopy(i: Pick<InstanceRecord, "hostId" | "epoch" | "moveTo"> | undefined, hostId: string, st: { epoch: number; state: string }): boolean {
  if (!i) return false;
  if ((i.hostId === hostId && i.epoch === st.epoch) || (i.moveTo?.hostId === hostId && i.moveTo.epoch === st.epoch)) return true;
  return st.state === "stopped" && st.epoch < Math.max(i.epoch, i.moveTo?.epoch ?? 0);
}

export async function onInstanceStatus(d: AgentServiceDeps, s: AgentStream, raw: InstanceStatus__Output): Promise<void> {
  const { hostId } = s;
  if (!isCurrent(d, s)) return;
  const st = validateInstanceStatus(raw);
  const prev = d.loop.observed.get(hostId);
  const now = d.now();
  const obs = {
    hostId,
    service: st.service,
    instance: st.instance,
    epoch: st.epoch,
    revision: st.revision,
    state: st.state,
    detail: st.detail,
    restarts: st.restarts,
    // First sight of this state (also after a controller restart): it began age_ms ago,
    // measured on the agent's own clock, so no clock offset enters.
    sinceMs: prev && prev.instance === st.instance && prev.epoch === st.epoch && prev.state === st.state ? prev.sinceMs : now - Math.min(st.age_ms, now),
    pid: st.pid,
    resourcesEnforced: st.resources_enforced,
    resourcesNote: st.resources_note,
    installTail: st.install_tail,
  };
  d.loop.observed.set(hostId, obs);
  d.publishObserved?.(obs);
  if (await fencedCopyStopped(hostId, d.registry.liveOf(hostId).fencing, st, (ev) => d.events.append(ev))) d.onLiveness();
  let noted: Promise<unknown> | undefined;
  // Only this host's copies become events: it cannot write history for a copy it does not run.
  const known = reportsOwnCopy(d.state.instancesOf(st.service).find((i) => instanceId(i.service, i.slot) === st.instance), hostId, st);
  const changed = prev?.state !== st.state || prev.instance !== st.instance;
  const budget = changed && known && (EVENT_STATES.has(st.state) || st.state === "stopped") ? spend(hostId, now) : "ok";
  if (budget === "first") {
    s.log.warn({ hostId }, "instance state changes too fast: not logged as events until they slow");
    noted = d.events.append({ type: "host.noisy", host: hostId, message: `${hostId} reports its instances' state changes faster than ${EVENT_BURST} a minute: the rest are not logged as events until it slows (berth status shows the latest)` });
  }
  if (changed && known && budget === "ok") {
    s.log.info({ service: st.service, instance: st.instance, epoch: st.epoch, state: st.state, detail: st.detail || undefined }, "instance state");
    if (EVENT_STATES.has(st.state)) {
      noted = d.events.append({ type: `instance.${st.state}`, service: st.service, host: hostId, message: `${st.instance} (epoch ${st.epoch}) ${st.state}${st.detail ? `: ${st.detail}` : ""}` });
    } else if (st.state === "stopped" && st.detail.startsWith(SELF_FENCED)) {
      // The agent stopped it on its own, cut off from the controller: after a partition
      // this is the only word of why the old copy is gone (its slot runs elsewhere by then).
      noted = d.events.append({ type: "instance.self-fenced", service: st.service, host: hostId, message: `${st.instance} (epoch ${st.epoch}) stopped itself: ${st.detail.slice(SELF_FENCED.length).trim()}` });
    }
  }
  // The loop decides from `observed`, set above, not from the event: it starts now
  // rather than after the event's fsync (a healthy report is what moves a rollout on).
  // The pass's own commit queues behind the event in the event log, so the events
  // still read in the order things happened.
  d.loop.reported(prev, obs);
  await noted;
}

