/**
 * Hello: the agent says who it is, what it runs and what it holds. The stream
 * becomes the host's current one (replacing an older), superseded copies are
 * fenced, the record's facts follow the host, and the agent gets its Welcome and
 * its whole assignment.
 */
import * as grpc from "@grpc/grpc-js";
import type { Hello__Output } from "../../../shared/gen/berth/v1/Hello.js";
import { monoMs } from "../../../shared/clock.js";
import { announceFencing, fencingSet } from "../../failure/fencing.js";
import { isSuperseded } from "../../services/assignment.js";
import { GrpcError } from "../api/errors.js";
import { validateAdvertiseAddr, validateDigests, validateFacts, validateLabels } from "../api/validate.js";
import { peerAddress } from "./cert-host.js";
import type { AgentServiceDeps } from "./deps.js";
import type { AgentStream } from "./stream.js";
import { trustBundle } from "./trust.js";
import { confirmedRecord } from "./renew.js";
import type { HostRecord } from "../../hosts/host.js";

export async function onHello(d: AgentServiceDeps, s: AgentStream, h: Hello__Output): Promise<void> {
  const { hostId, log } = s;
  if (h.host_id !== hostId) throw new GrpcError(grpc.status.PERMISSION_DENIED, `hello.host_id ${h.host_id.slice(0, 64)} does not match the certificate (${hostId})`);
  // One Hello a stream: a second would replace the stream by itself and end it with OK, saying nothing.
  if (s.greeted) throw new GrpcError(grpc.status.FAILED_PRECONDITION, "hello twice on one stream: a stream says who it is once; connect again to start over");
  // A member cut off from the store cannot record this host, nor decide for it: another member can.
  const away = d.storeUnavailable?.();
  if (away !== undefined) {
    log.info({ why: away }, "agent sent to another member");
    s.send({ move_on: { reason: away, preferred: "", store_unavailable: true } });
    s.end();
    return;
  }
  const facts = validateFacts(h.facts ?? {}, "hello.facts");
  const labels = validateLabels(h.labels ?? {}, "hello.labels");
  const advertise = validateAdvertiseAddr(h.advertise_addr, "hello.advertise_addr") || peerAddress(s.peer());
  const live = d.registry.liveOf(hostId);
  // A newer stream from the same host replaces the old one (the agent restarted or reconnected).
  live.disconnect?.("replaced by a newer stream");
  live.disconnect = (why) => {
    log.info({ why }, "closing agent stream");
    d.logs.hostGone(hostId);
    d.execs.hostGone(hostId, `its agent stream was closed (${why})`);
    s.end();
  };
  live.send = s.send;
  live.streamId = s.sid;
  live.certSerial = s.certSerial;
  live.connectedAtMs = d.now();
  live.lastHeartbeatMs = d.now();
  live.lastHeartbeatMono = (d.mono ?? monoMs)();
  live.artifacts = validateDigests(h.artifacts, "hello.artifacts");
  // It gets "none" for a superseded copy below, and stays out of ready until it reports it stopped.
  live.fencing = fencingSet(h.running, (instance, epoch) => isSuperseded(d.state, hostId, instance, epoch));
  await announceFencing(hostId, live.fencing, h.running, log, (ev) => d.events.append(ev));
  s.greeted = true;
  await d.registry.update(hostId, (rec) => {
    const next = helloRecord(rec, s.certSerial, { facts, labels, advertiseAddr: advertise });
    return next ? { rec: next } : undefined;
  });
  s.send({ welcome: { host_id: hostId, heartbeat_interval_ms: d.heartbeatIntervalMs, ttl_ms: d.ttlMs, advertise_addr: advertise } });
  // The CAs to trust from its next connection, and "renew now" when a CA rotation waits for it.
  s.send(trustBundle(d));
  d.assignments.sendTo(hostId);
  // A host still joining is no place for anything until the detector makes it ready, and
  // that transition kicks the loop: a fleet joining then costs one fleet-wide pass per
  // detector pass, not one per Hello. A host that was ready (a reconnect) may hold other
  // artifacts or copies now, and one that runs something superseded is fenced: kick.
  if (d.registry.get(hostId)?.health !== "joining" || live.fencing.size > 0) d.loop.kick();
  log.info({ addr: advertise }, "agent connected");
  d.onLiveness();
}

/**
 * The host record after a Hello on a stream that presented certificate `presented`:
 * the facts, labels and address it sent, and a renewal's certificate confirmed when
 * presented (renew.ts) — undefined when nothing changes.
 */
export function helloRecord(rec: HostRecord, presented: string, sent: Pick<HostRecord, "facts" | "labels" | "advertiseAddr">): HostRecord | undefined {
  const confirmed = confirmedRecord(rec, presented);
  const changed = JSON.stringify(rec.facts) !== JSON.stringify(sent.facts) || JSON.stringify(rec.labels) !== JSON.stringify(sent.labels) || rec.advertiseAddr !== sent.advertiseAddr;
  return changed || confirmed ? { ...(confirmed ?? rec), facts: sent.facts, labels: sent.labels, advertiseAddr: sent.advertiseAddr } : undefined;
}
