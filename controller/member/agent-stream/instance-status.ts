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

/** Events worth an operator's time among instance state changes. */
const EVENT_STATES = new Set(["starting", "healthy", "unhealthy", "failed"]);

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
  if (prev?.state !== st.state || prev.instance !== st.instance) {
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

