/**
 * `berth logs`: one part per host that runs (or is taking over) a copy of the
 * service, each an agent's log request under its own flow-control window — or, for
 * a host whose stream another member holds, that host's part relayed to it.
 *
 * Followed without `--host`, the call follows the service, not the hosts it ran on
 * when it began: after every reconcile pass (on a member that does not lead, every
 * change it hears of) a copy that has started on a host not followed yet — a
 * replacement after a failover, a drain, a move, a scale-up — gets a part of its
 * own, from its first lines, with a line saying so; and the part of a host the
 * service has left ends with a line saying that. As `stern` does for Kubernetes'
 * pods; `kubectl logs -f` would stay on the old pod, printing nothing. The call ends,
 * as it always did, once no part is left (the hosts it followed disconnected): the
 * CLI opens it again and finds the hosts anew.
 */
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { LogChunk__Output } from "../../../shared/gen/berth/v1/LogChunk.js";
import type { LogsRequest__Output } from "../../../shared/gen/berth/v1/LogsRequest.js";
import type { LogsChunk } from "../../../shared/gen/berth/v1/LogsChunk.js";
import { instanceId, type InstanceRecord, type ObservedInstance } from "../../services/records.js";
import { failedInstallText, failedRunsText, isCrashLoop, lastFailedOutputs, type HostFailure } from "../../reschedule/policy.js";
import { AckBatcher } from "../../../shared/exec/window.js";
import { LOG_MAX_CHUNK_CHARS, LOG_WINDOW_CHARS } from "../../../shared/logs/limits.js";
import { authorize } from "./operator-service.js";
import { GrpcError, toStatus } from "./errors.js";
import { serveStream, type ServerStream } from "./server-stream.js";
import { relayLogs } from "./log-relay.js";
import { isRelayed, relayMetadata, relayTarget, type RelayDeps } from "./relay.js";
import type { OperatorServiceClient } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { ServiceHandlerDeps } from "./service-handlers.js";
import { serviceOrNotFound } from "./service-handlers.js";
import { SERVICE_NAME } from "../../../shared/spec/schema.js";
import { closest } from "../../../shared/closest.js";

/**
 * Lines of a copy that starts while the service is followed, shown before what it
 * writes next (or `--tail`, when more): it was seen running only once it had started,
 * so its first lines are already in its file. A copy that ran on that host before
 * may show some of its predecessor's last lines.
 */
export const NEW_COPY_TAIL_LINES = 100;

/** A host a copy of the service runs on (or is taking over on), with that copy's instance id. One service per host: the host is the key. */
export interface LogTarget {
  host: string;
  instance: string;
}

/** Every host of the service's copies: where each runs, and where a moving one goes. Pure. */
export function logTargets(instances: readonly InstanceRecord[]): LogTarget[] {
  return instances.flatMap((i) => [i.hostId, i.moveTo?.hostId ?? ""].filter(Boolean).map((host) => ({ host, instance: instanceId(i.service, i.slot) })));
}

/**
 * Which parts a follow of the whole service opens and ends now (pure). `open` maps a
 * followed host to the pid its copy had when its part was opened (0: not running then)
 * and whether that part is still streaming. A host the service has left ends; a
 * target host whose copy runs (the host reports a pid for that instance) opens when it
 * has no part, or when its part has ended and the copy running now is another process
 * (it was not running yet, or it came back), or the host is reached through another
 * stream than the part was (`via`: its agent reconnected, here or to another member)
 * — never again for the same process on the same stream, so a part the agent ends at
 * once cannot make a loop.
 */
export function followChanges(
  targets: readonly LogTarget[],
  open: ReadonlyMap<string, { pid: number; live: boolean; via?: string }>,
  observed: ReadonlyMap<string, Pick<ObservedInstance, "instance" | "pid">>,
  via: (host: string) => string | undefined = () => undefined,
): { start: (LogTarget & { pid: number })[]; end: string[] } {
  const wanted = new Map(targets.map((t) => [t.host, t]));
  const end = [...open.keys()].filter((h) => !wanted.has(h));
  const start: (LogTarget & { pid: number })[] = [];
  for (const t of wanted.values()) {
    const o = observed.get(t.host);
    const pid = o && o.instance === t.instance ? o.pid : 0;
    if (pid <= 0) continue;
    const part = open.get(t.host);
    if (!part) start.push({ ...t, pid });
    else if (!part.live) {
      const now = via(t.host);
      if (part.pid !== pid || (now !== undefined && now !== part.via)) start.push({ ...t, pid });
    }
  }
  return { start, end };
}

interface Part {
  instance: string;
  /** The pid of the copy when this part began (0: not known to run). */
  pid: number;
  live: boolean;
  /** The stream the host was reached through when this part began (streamVia); "": not connected. */
  via: string;
  /** Ends the part from this side (the agent's request is cancelled, or the relayed call). */
  stop(): void;
  /** The same, when the whole call has closed (no part is counted any more). */
  cancel(): void;
}

/** What an agent older than LogRequest.departed_service answers a request for instance "" (Converger.logs). */
const OLD_AGENT_ANSWER = "[berth:  does not run on this host]\n";

/** A host's answer to a departed_service request, as shown: an older agent's, which took it for instance "", said as what it means (pure). */
export function departedAnswer(data: string, service: string, host: string): string {
  return data === OLD_AGENT_ANSWER ? `[berth: ${service} has no instance on ${host}, and its agent is too old to read back the output it kept]\n` : data;
}

/**
 * A name that is no service (any more): with --host, what that host kept of the service's
 * copies is still asked for (`berth logs web --host H` after `berth delete web`: the last
 * words of a deleted service, as the host's keepLogs holds them). Otherwise, or with a flag
 * that needs the service (--install, -f), not found as always.
 */
export function deletedService(d: Pick<ServiceHandlerDeps, "state">, req: Pick<LogsRequest__Output, "service" | "install" | "follow">, host: string): { name: string } {
  const named = SERVICE_NAME.test(req.service);
  if (host && !req.install && !req.follow) {
    if (!named) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `service: ${JSON.stringify(req.service.slice(0, 80))} is not a service name (lowercase letters, digits and '-', 1-63 characters)`);
    return { name: req.service };
  }
  try {
    return serviceOrNotFound(d.state, req.service);
  } catch (e) {
    // Say where the output of a service deleted since is still to be read.
    if (host || req.install || req.follow || !named) throw e;
    throw new GrpcError(grpc.status.NOT_FOUND, `${toStatus(e).details}; if it was deleted, the hosts it ran on keep its output: berth logs ${req.service} --host H`);
  }
}

export function logsHandler(d: ServiceHandlerDeps): OperatorServiceHandlers["Logs"] {
  return (call) => {
    const req = call.request;
    serveStream(call, {
      method: "Logs",
      log: d.log,
      auth: () => authorize(d, call.metadata, "viewer"),
      // Bounded per host instead, by its flow-control window (checked below): what
      // waits for the client is never more than the hosts' windows.
      maxQueued: Infinity,
      maxQueuedBytes: Infinity,
      start: (s) => startLogs(d, call, req, s),
    });
  };
}

async function startLogs(d: ServiceHandlerDeps, call: grpc.ServerWritableStream<LogsRequest__Output, LogsChunk>, req: LogsRequest__Output, s: ServerStream<LogsChunk>): Promise<void> {
  const host = req.host ? d.registry.resolve(req.host).id : "";
  const found = d.state.service(req.service);
  const svc = found ?? deletedService(d, req, host);
  let targets = logTargets(d.state.instancesOf(svc.name)).filter((t) => !host || t.host === host);
  if (!targets.length) {
    // No copy to ask, but the slots keep the output of what failed: the installs (that is what
    // --install is for), and the last lines of a process that crash-looped (as `kubectl logs
    // --previous`: the copy is gone, its last words are what the operator is after; not with
    // -f, whose call would end and be opened again, printing them each time).
    const kept = (f: HostFailure): boolean => (req.install ? !isCrashLoop(f) : !req.follow && isCrashLoop(f));
    const failed = d.state.instancesOf(svc.name).flatMap((i) => lastFailedOutputs(i.failures).filter((f) => kept(f) && (!host || f.hostId === host)).map((f) => ({ i, f })));
    if (failed.length) {
      for (const { i, f } of failed) s.send({ host: f.hostId, instance: instanceId(i.service, i.slot), data: req.install ? failedInstallText([f]) : failedRunsText([f]) });
      s.end();
      return;
    }
    // Kept output of the other kind (a failed install, when the process's was asked for): name the flag that shows it.
    const other = !req.install && d.state.instancesOf(svc.name).some((i) => lastFailedOutputs(i.failures).some((f) => !isCrashLoop(f) && (!host || f.hostId === host)));
    const hint = other ? `its last failed install's output is kept: berth logs ${svc.name} --install` : "";
    if (host && !req.install && !req.follow && streamVia(d, host) !== undefined) {
      // The host is reached: what it kept of copies that left it (moved, failed over;
      // the agent's keepLogs), asked of it as instance "" (departed_service). The notes
      // once, where the operator's call landed, not again by a member it is relayed to.
      targets = [{ host, instance: "" }];
      const first = !isRelayed(call.metadata);
      if (first && !found) {
        const near = closest(svc.name, d.state.allServices().map((x) => x.name));
        s.send({ host, instance: "", data: `[berth: ${svc.name} is not a service (deleted, or never one${near ? `; did you mean "${near}"?` : ": berth services lists them"}); what ${host} kept of its instances:]\n` });
      }
      if (first && hint) s.send({ host, instance: "", data: `[berth: ${hint}]\n` });
    } else {
      // A name that is no service, on a host not reached: nothing to ask, and not found.
      if (!found) throw new GrpcError(grpc.status.NOT_FOUND, `${svc.name} is not a service, and host ${host} is not connected to ask what it kept of its instances`);
      throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${host ? `${svc.name} has no instance on ${host}` : `${svc.name} has no placed instance`}${hint ? `; ${hint}` : ""}`);
    }
  }
  // Following the service (not one host): parts come and go with its copies. The call still
  // ends when no part is left (every host it followed disconnected, say), as it always did:
  // the CLI then opens it again, on whichever member answers, and finds the hosts anew.
  const following = req.follow && !host && !req.install;
  const parts = new Map<string, Part>();
  // One for the setup itself: a part that ends while a later one is being set up (a relay looks its member up) must not end the call.
  let open = 1;
  const partEnded = (part: Part): void => {
    if (!part.live) return;
    part.live = false;
    if (--open === 0) s.end();
  };
  // The call closed (the operator went away, or it failed): every part's agent request ends, the relayed calls too.
  s.onClose(() => {
    for (const p of parts.values()) p.cancel();
  });
  // Parts relayed to another member go on a connection of this call's own, one per member
  // (MemberPeers.operatorOwn), closed with the call.
  const ownClients = new Map<string, OperatorServiceClient>();
  const ownClient = (relay: RelayDeps, address: string): OperatorServiceClient => {
    let c = ownClients.get(address);
    if (!c) {
      c = relay.operatorOwn(address);
      ownClients.set(address, c);
    }
    return c;
  };
  s.onClose(() => {
    for (const c of ownClients.values()) c.close();
  });
  const note = (t: LogTarget, text: string): void => void s.send({ host: t.host, instance: t.instance, data: `[berth: ${text}]\n` });

  /** Opens host t's part, with the last `tail` lines first. */
  const openPart = async (t: LogTarget, pid: number, tail: number): Promise<void> => {
    const part: Part = { instance: t.instance, pid, live: true, via: streamVia(d, t.host) ?? "", stop: () => undefined, cancel: () => undefined };
    parts.set(t.host, part);
    const live = d.registry.live.get(t.host);
    if (!live?.send) {
      // A stream another member holds: that host's part is relayed to it.
      let to: Awaited<ReturnType<typeof relayTarget>>;
      try {
        to = await relayTarget(d.relay, call.metadata, t.host, "its logs ended");
      } catch (e) {
        part.live = false;
        note(t, toStatus(e).details);
        return;
      }
      if (s.closed) return;
      if (!to || !d.relay) {
        part.live = false;
        note(t, `host ${t.host} is not connected`);
        return;
      }
      open++;
      const metadata = relayMetadata(call.metadata, d.relay.self, call.getPeer());
      const relayed = relayLogs({
        client: ownClient(d.relay, to.address),
        metadata,
        request: { service: svc.name, host: t.host, follow: req.follow, tail, install: req.install },
        hostId: t.host,
        member: to.member,
        s,
        ended: () => partEnded(part),
      });
      part.cancel = () => relayed.cancel();
      part.stop = () => {
        relayed.cancel();
        partEnded(part);
      };
      return;
    }
    const agentSend = live.send;
    open++;
    let ended = false;
    // Flow control: data the client has taken is acknowledged to the agent,
    // which keeps at most LOG_WINDOW_CHARS unacknowledged.
    const acks = new AckBatcher(LOG_WINDOW_CHARS);
    let unacked = 0;
    const endOne = (): void => {
      if (ended) return;
      ended = true;
      d.logs.close(id);
      partEnded(part);
    };
    const id = d.logs.open({
      hostId: t.host,
      onChunk: (c: LogChunk__Output) => {
        if (ended || s.closed) return;
        // An agent older than departed_service took the request for instance "": say what that means.
        if (t.instance === "") c.data = departedAnswer(c.data, svc.name, t.host);
        if (c.data) {
          const n = c.data.length;
          unacked += n;
          if (unacked > LOG_WINDOW_CHARS + LOG_MAX_CHUNK_CHARS) {
            // An agent that ignores its window would grow this controller's memory.
            agentSend({ log_cancel: { request_id: id } });
            note(t, `host ${t.host} sent more log data than its flow-control window allows; its part was ended`);
            return endOne();
          }
          s.send({ host: t.host, instance: t.instance, data: c.data }, () => {
            unacked -= n;
            const chars = acks.consumed(n);
            if (chars && !ended) agentSend({ log_ack: { request_id: id, chars } });
          });
        }
        // An error is the part's last word (the agent sends it with eof): one note, not a stream of
        // them, which no window bounds — a host that sent errors on and on filled this
        // controller's memory while the client read slowly.
        if (c.error) note(t, c.error);
        if (c.eof || c.error) endOne();
      },
    });
    // Tell the agent to stop following, or it would stream into the void.
    const cancel = (): void => {
      if (ended) return;
      ended = true;
      d.logs.close(id);
      d.registry.live.get(t.host)?.send?.({ log_cancel: { request_id: id } });
    };
    part.cancel = cancel;
    part.stop = () => {
      cancel();
      partEnded(part);
    };
    agentSend({ log_request: { request_id: id, instance: t.instance, install: req.install, tail: Math.min(tail, 100_000), follow: req.follow, window: LOG_WINDOW_CHARS, departed_service: t.instance === "" ? svc.name : "" } });
  };

  for (const t of targets) {
    if (parts.has(t.host)) continue;
    const o = d.loop.observed.get(t.host);
    await openPart(t, o && o.instance === t.instance ? o.pid : 0, req.tail);
    if (s.closed) return;
  }
  if (following) followService(d, req, svc.name, s, parts, openPart, note);
  if (--open === 0) s.end();
}

/** How often a follow of a service looks for hosts to follow again, besides each pass of the loop. */
const FOLLOW_LOOK_EVERY_MS = 1_000;

/** Which stream reaches a host now: this member's (its stream id) or another member's (that member); undefined: none. */
function streamVia(d: ServiceHandlerDeps, host: string): string | undefined {
  const live = d.registry.live.get(host);
  if (live?.send) return `here:${String(live.streamId)}`;
  // Another member's stream (this member's own is the one above).
  const route = d.relay?.routeOf?.(host) ?? d.relay?.holderOf(host);
  return route ? `member:${route}` : undefined;
}

/** After every pass: parts for copies that started on hosts not followed yet, parts again for hosts whose agent came back, an end for hosts the service left. */
function followService(
  d: ServiceHandlerDeps,
  req: LogsRequest__Output,
  name: string,
  s: ServerStream<LogsChunk>,
  parts: Map<string, Part>,
  openPart: (t: LogTarget, pid: number, tail: number) => Promise<void>,
  note: (t: LogTarget, text: string) => void,
): void {
  let busy = false;
  let again = false;
  const sync = async (): Promise<void> => {
    if (s.closed) return;
    if (!d.state.service(name)) {
      note({ host: "", instance: name }, `service ${name} was deleted`);
      s.end();
      return;
    }
    const { start, end } = followChanges(logTargets(d.state.instancesOf(name)), parts, d.loop.observed, (h) => streamVia(d, h));
    // The new copies first: a part ending while none other is live would end the call.
    for (const t of start) {
      const before = parts.get(t.host);
      note(
        t,
        before && before.pid === t.pid
          ? `host ${t.host} is reachable again: following ${t.instance} (pid ${t.pid}) there again, from its last ${Math.max(req.tail, NEW_COPY_TAIL_LINES)} lines (some may repeat)`
          : `${t.instance} runs on host ${t.host} now (pid ${t.pid}): following it there`,
      );
      // A copy new to this call: its start-up output too, not only what it writes from now on.
      await openPart(t, t.pid, Math.max(req.tail, NEW_COPY_TAIL_LINES));
      if (s.closed) return;
    }
    for (const h of end) {
      const part = parts.get(h);
      if (!part) continue;
      parts.delete(h);
      if (!part.live) continue;
      note({ host: h, instance: part.instance }, `${name} left host ${h}: this copy's output ends here`);
      part.stop();
    }
  };
  const kick = (): void => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    void sync()
      .catch((err: unknown) => d.log.warn({ err, service: name }, "following a service's logs failed"))
      .finally(() => {
        busy = false;
        if (again) {
          again = false;
          kick();
        }
      });
  };
  s.onClose(d.loop.onPass(kick));
  // A host's agent coming back makes no pass on a member that does not lead, and news of it
  // through another member's report none at all: look every second as well.
  const every = setInterval(kick, FOLLOW_LOOK_EVERY_MS);
  every.unref();
  s.onClose(() => clearInterval(every));
  // A copy that started while the first parts were being set up has had its pass already.
  kick();
}
