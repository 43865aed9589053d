/**
 * OperatorService.Exec: `berth exec`, relayed between the operator's call and
 * the host's agent stream (exec_start/input/resize/close down, exec_output/exit
 * up), as Logs is relayed by log-router.ts.
 *
 * - Only admin tokens may exec. Every session is audited twice: "Exec" when it
 *   starts (or is refused: then that is the only entry), "ExecEnd" when it ends,
 *   with start, end, duration and exit code — or the status it ended with.
 * - Flow control, end to end: the agent keeps at most a window of output in
 *   flight and the controller acknowledges it as the operator's client takes it
 *   (gRPC's write callback, i.e. HTTP/2 flow control to the client). A slow
 *   client pauses the command; it never grows memory here. Stdin is bounded the
 *   same way the other way round: the call is paused while the agent has a full
 *   window of unacknowledged input. An agent that overruns its window is cut off.
 * - A client that goes away (cancelled) ends the session on the host
 *   (exec_close); a host whose stream ends ends its sessions (UNAVAILABLE).
 */
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { ExecClientMessage__Output } from "../../../shared/gen/berth/v1/ExecClientMessage.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import { EXEC_MAX_CHUNK_BYTES, EXEC_START_TIMEOUT_MS, EXEC_WINDOW_BYTES } from "../../../shared/exec/limits.js";
import { AckBatcher, ByteWindow } from "../../../shared/exec/window.js";
import { AuthError, type Principal } from "../../auth/token-service.js";
import { summarize, type AuditLog } from "../../audit/audit-log.js";
import { hostStatus } from "../../hosts/host.js";
import type { ServiceState } from "../../services/state.js";
import { instanceId } from "../../services/records.js";
import { authenticate, type OperatorServiceDeps } from "./operator-service.js";
import { GrpcError, toStatus } from "./errors.js";
import { validateExecChunk, validateExecRequest, validateTerminalSize, type ExecRequestInput } from "./validate.js";
import type { ExecRouter } from "./exec-router.js";
import { pickInstance, resolveHostRef } from "./exec-target.js";
import { relayExec, type ExecRelay } from "./exec-relay.js";
import { auditPeer, relayMetadata, relayTarget, type RelayDeps } from "./relay.js";
import { ownCall } from "../peers.js";
import { quote } from "../../../shared/text/quote.js";
import { setTimeoutClamped } from "../../../shared/timer.js";

export interface ExecHandlerDeps extends OperatorServiceDeps {
  state: Pick<ServiceState, "service" | "instancesOf">;
  execs: ExecRouter;
  /** In a group: how to reach the member holding a host's stream, when another member holds it. */
  relay?: RelayDeps;
}

/** "relayed": the session runs on the member holding the host's stream, this call only pipes (exec-relay.ts). */
type Phase = "waiting" | "starting" | "running" | "relayed" | "ended";

export function execHandlers(d: ExecHandlerDeps): Pick<OperatorServiceHandlers, "Exec"> {
  return {
    Exec(call) {
      // The operator's own address when another member relayed the call here.
      const peer = d.relay ? auditPeer(call, d.relay.trustedCas(), new Date(d.relay.now())) : call.getPeer();
      let relay: ExecRelay | undefined;
      let phase: Phase = "waiting";
      let who: Principal | undefined;
      let id = 0;
      let hostId = "";
      let instance = "";
      let req: ExecRequestInput | undefined;
      let raw: unknown = {};
      let startedMs = 0;
      let agentSend: ((m: ControllerMessage) => void) | undefined;
      let eofPending = false;
      let eofSent = false;
      let unwatchRevoke: (() => void) | undefined;
      // Stdin towards the agent, and acks for the output the client has taken.
      const stdinWindow = new ByteWindow(EXEC_WINDOW_BYTES);
      const outputAcks = new AckBatcher(EXEC_WINDOW_BYTES);
      let unconsumed = 0;

      const what = (): Record<string, unknown> =>
        req
          ? { session: id || undefined, member: d.relay?.self, host: hostId || req.host, service: req.service || undefined, instance: instance || undefined, command: req.command, tty: req.tty }
          : (raw as Record<string, unknown>);
      const audit = (method: string, request: unknown, code: number, error: string): void =>
        void d.audit
          ?.append({ tokenId: who?.tokenId ?? "", role: who?.role ?? "", method, request: summarize(request), code, error, peer })
          .catch((err: unknown) => d.log.error({ err, method }, "writing the audit log failed"));

      /** Ends everything once: the session, the call, and the audit trail. */
      const finish = (o: { code: grpc.status; error: string; exit?: { code: number; signal: string }; closeAgent?: string }): void => {
        if (phase === "ended") return;
        const wasRunning = phase === "running";
        phase = "ended";
        clearTimeout(startTimer);
        unwatchRevoke?.();
        if (id) d.execs.close(id);
        if (wasRunning) {
          if (o.closeAgent) agentSend?.({ exec_close: { session_id: id, reason: o.closeAgent } });
          const endedMs = d.now();
          audit(
            "ExecEnd",
            { ...what(), started_ms: startedMs, ended_ms: endedMs, duration_ms: endedMs - startedMs, exit_code: o.exit?.code ?? null, signal: o.exit?.signal || undefined },
            o.code,
            o.error,
          );
          d.log.info({ session: id, host: hostId, actor: who?.tokenId, code: o.exit?.code, status: o.code || undefined, error: o.error || undefined }, "exec session ended");
        } else {
          audit("Exec", what(), o.code, o.error);
        }
        if (o.exit) {
          call.write({ exit: o.exit });
          call.end();
        } else if (o.code !== grpc.status.CANCELLED) {
          call.emit("error", Object.assign(new Error(o.error), { code: o.code, details: o.error }));
        }
      };
      const fail = (err: unknown): void => {
        const s = toStatus(err);
        if (s.internal) d.log.error({ err, session: id || undefined }, "exec failed");
        finish({ code: s.code, error: s.details, closeAgent: s.details });
      };

      const startTimer = setTimeout(() => fail(new GrpcError(grpc.status.INVALID_ARGUMENT, `start: not sent within ${EXEC_START_TIMEOUT_MS / 1000}s of the call`)), EXEC_START_TIMEOUT_MS);

      const sendEof = (): void => {
        if (eofSent) return;
        eofSent = true;
        agentSend?.({ exec_input: { session_id: id, eof: true } });
      };

      const begin = async (start: unknown): Promise<void> => {
        phase = "starting";
        raw = start ?? {};
        // Nothing more is read until the session runs: stdin waits in gRPC's buffers.
        call.pause();
        who = await authenticate(d, call.metadata);
        if (phase !== "starting") return; // the client went away meanwhile
        // A revoked token ends the session it opened, at once, like its streams.
        const revoked = who.revoked;
        const onRevoked = (): void => finish({ code: grpc.status.UNAUTHENTICATED, error: "the token this session was opened with was revoked; the session was ended", closeAgent: "token revoked" });
        if (revoked.aborted) throw new AuthError("the token was revoked");
        revoked.addEventListener("abort", onRevoked, { once: true });
        // And one that expires ends it when it does (a session opened a minute before its token's end is not a way around it).
        const expiry =
          who.expiresInMs === undefined
            ? undefined
            : setTimeoutClamped(() => finish({ code: grpc.status.UNAUTHENTICATED, error: "the token this session was opened with expired; the session was ended", closeAgent: "token expired" }), who.expiresInMs);
        unwatchRevoke = () => {
          revoked.removeEventListener("abort", onRevoked);
          clearTimeout(expiry);
        };
        if (who.role !== "admin") throw new GrpcError(grpc.status.PERMISSION_DENIED, `exec needs the admin role; the token has ${who.role}`);
        req = validateExecRequest(start);
        if (req.service) {
          const svc = d.state.service(req.service);
          if (!svc) throw new GrpcError(grpc.status.NOT_FOUND, `no service ${quote(req.service)}`);
          const inst = pickInstance(svc.name, d.state.instancesOf(svc.name), req.instance);
          hostId = inst.hostId;
          instance = instanceId(svc.name, inst.slot);
        } else {
          hostId = resolveHostRef(d.registry, req.host).id;
        }
        const rec = d.registry.get(hostId);
        let live = d.registry.live.get(hostId);
        if (!live?.send && d.relay) {
          const to = await relayTarget(d.relay, call.metadata, hostId, "the session did not start: run the command again");
          if (phase !== "starting") return; // the client went away meanwhile
          live = d.registry.live.get(hostId);
          if (to && !live?.send) {
            // Audited, counted and ended where it runs; refusals before this point were audited here.
            phase = "relayed";
            clearTimeout(startTimer);
            unwatchRevoke?.();
            const metadata = relayMetadata(call.metadata, d.relay.self, peer);
            const own = d.relay.operatorOwn(to.address);
            relay = relayExec({
              call,
              up: ownCall(own, own.Exec(metadata)),
              first: [{ msg: "start", start: start as ExecClientMessage__Output["start"] }, ...early.splice(0)],
              eof: eofPending,
              hostId,
              member: to.member,
              log: d.log,
            });
            d.log.info({ host: hostId, member: to.member, actor: who.tokenId }, "exec relayed to the member holding the host's stream");
            call.resume();
            return;
          }
        }
        if (!live?.send) {
          const name = rec?.facts?.hostname ? ` (${rec.facts.hostname})` : "";
          throw new GrpcError(grpc.status.UNAVAILABLE, `host ${hostId}${name} is not connected${rec ? ` (${hostStatus(rec)})` : ""}: its agent must be running and reach the controller; \`berth hosts\` shows when it was last heard from`);
        }
        const opened = d.execs.open({
          hostId,
          output: (o) => {
            if (phase !== "running") return;
            if (o.ack > stdinWindow.pending) {
              // An ack for stdin never sent would open the window without bound: a broken or hostile agent.
              finish({ code: grpc.status.INTERNAL, error: `host ${hostId} acknowledged more input than was sent; the session was ended`, closeAgent: "input ack overrun" });
              return;
            }
            if (o.ack && stdinWindow.ack(o.ack)) call.resume();
            const n = o.data.length;
            if (!n) return;
            unconsumed += n;
            if (unconsumed > EXEC_WINDOW_BYTES + EXEC_MAX_CHUNK_BYTES) {
              finish({ code: grpc.status.INTERNAL, error: `host ${hostId} sent more output than its flow-control window allows; the session was ended`, closeAgent: "output window overrun" });
              return;
            }
            // The callback runs once gRPC has handed the bytes on towards the client
            // under HTTP/2 flow control: only then are they acknowledged to the agent.
            call.write(o.stderr ? { stderr: o.data } : { stdout: o.data }, () => {
              unconsumed -= n;
              const ack = outputAcks.consumed(n);
              if (ack && phase === "running") agentSend?.({ exec_input: { session_id: id, ack } });
            });
          },
          exit: (e) => {
            if (e.error) finish({ code: grpc.status.FAILED_PRECONDITION, error: `on host ${hostId}: ${e.error}` });
            else finish({ code: grpc.status.OK, error: "", exit: { code: e.code, signal: e.signal } });
          },
          lost: (why) => finish({ code: grpc.status.UNAVAILABLE, error: `host ${hostId}: ${why}; the session ended` }),
        });
        if (opened === undefined) {
          throw new GrpcError(grpc.status.RESOURCE_EXHAUSTED, `host ${hostId} already has ${d.execs.maxPerHost} exec sessions, the most at once; end one and try again`);
        }
        id = opened;
        agentSend = live.send;
        startedMs = d.now();
        // Fail closed: no session runs that the audit log does not hold.
        try {
          await d.audit?.append({ tokenId: who.tokenId, role: who.role, method: "Exec", request: summarize(what()), code: grpc.status.OK, error: "", peer });
        } catch (err) {
          d.log.error({ err, session: id }, "writing the audit log failed: exec refused");
          throw new GrpcError(grpc.status.UNAVAILABLE, "the audit log could not be written, so no exec session starts; see the controller's log");
        }
        if (phase !== "starting") return; // the client went away meanwhile (finish has released the slot)
        phase = "running";
        clearTimeout(startTimer);
        agentSend({ exec_start: { session_id: id, command: req.command, tty: req.tty, rows: req.rows, cols: req.cols, term: req.term, instance } });
        call.write({ started: { session_id: id, host: hostId, instance } });
        d.log.info({ session: id, host: hostId, instance: instance || undefined, actor: who.tokenId, command: req.command[0]?.slice(0, 64) ?? "(shell)", tty: req.tty }, "exec session started");
        for (const m of early.splice(0)) running(m);
        if (eofPending) sendEof();
        call.resume();
      };

      /** A message of a running session. */
      const running = (m: ExecClientMessage__Output): void => {
        try {
          switch (m.msg) {
            case "stdin": {
              const data = validateExecChunk(m.stdin, "stdin");
              if (eofSent) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "stdin: sent after stdin_eof");
              if (!data.length) return;
              agentSend?.({ exec_input: { session_id: id, data } });
              if (stdinWindow.take(data.length)) call.pause();
              return;
            }
            case "resize": {
              const size = validateTerminalSize(m.resize ?? {});
              if (req?.tty) agentSend?.({ exec_resize: { session_id: id, rows: size.rows, cols: size.cols } });
              return;
            }
            case "stdin_eof":
              sendEof();
              return;
            case "start":
              throw new GrpcError(grpc.status.INVALID_ARGUMENT, "start: sent twice");
            case undefined:
              throw new GrpcError(grpc.status.INVALID_ARGUMENT, "empty message");
            default: {
              const never: never = m.msg;
              throw new GrpcError(grpc.status.INVALID_ARGUMENT, `unknown message ${String(never)}`);
            }
          }
        } catch (err) {
          fail(err);
        }
      };
      // Messages that were already on their way while the session was starting.
      const early: ExecClientMessage__Output[] = [];

      call.on("data", (m: ExecClientMessage__Output) => {
        if (phase === "waiting") {
          if (m.msg !== "start") return fail(new GrpcError(grpc.status.INVALID_ARGUMENT, "start: the first message must be the start of the session"));
          begin(m.start).catch(fail);
        } else if (phase === "starting") {
          if (early.length >= 64) return fail(new GrpcError(grpc.status.RESOURCE_EXHAUSTED, "too many messages before the session started"));
          early.push(m);
        } else if (phase === "running") running(m);
        else if (phase === "relayed") relay?.data(m);
      });
      // The client half-closed: its stdin ended (the command may still run and print).
      call.on("end", () => {
        if (phase === "relayed") relay?.end();
        else if (phase === "running") sendEof();
        else if (phase === "starting") eofPending = true;
        else if (phase === "waiting") fail(new GrpcError(grpc.status.INVALID_ARGUMENT, "start: the call ended before its start message"));
      });
      call.on("cancelled", () => (phase === "relayed" ? relay?.cancel() : finish({ code: grpc.status.CANCELLED, error: "the client went away", closeAgent: "the operator's client went away" })));
    },
  };
}

/** How far back a restarted controller looks for sessions it started and never saw end. */
export const ORPHAN_SCAN_ENTRIES = 5000;

/**
 * Exec sessions that were running when this controller last stopped ended with
 * it: their agents ended them when the stream dropped. The audit log has their
 * start and no end; a restarted controller writes the end, so every session in
 * the log has both. `member`: in a group, this member's name (its sessions carry
 * it). Returns how many it closed.
 */
export async function auditOrphanedExecs(audit: Pick<AuditLog, "list" | "append">, nowMs: number, member = ""): Promise<number> {
  const entries = await audit.list({ sinceMs: 0, limit: ORPHAN_SCAN_ENTRIES });
  // In a group the audit log is shared: a session is a member's (its id is unique on that member only), and only its own are closed.
  const sessionOf = (request: string): string | undefined => {
    try {
      const r = JSON.parse(request) as { session?: unknown; member?: unknown };
      if (typeof r.session !== "number" || (r.member ?? "") !== member) return undefined;
      return `${member}/${r.session}`;
    } catch {
      return undefined;
    }
  };
  const ended = new Set(entries.filter((e) => e.method === "ExecEnd").map((e) => sessionOf(e.request)));
  let closed = 0;
  for (const e of entries) {
    if (e.method !== "Exec" || e.code !== grpc.status.OK) continue;
    const session = sessionOf(e.request);
    if (session === undefined || ended.has(session)) continue;
    ended.add(session);
    const request = { ...(JSON.parse(e.request) as Record<string, unknown>), started_ms: e.timeMs, ended_ms: nowMs, duration_ms: Math.max(0, nowMs - e.timeMs), exit_code: null };
    await audit.append({ tokenId: e.tokenId, role: e.role, method: "ExecEnd", request: summarize(request), code: grpc.status.UNAVAILABLE, error: "the controller stopped during the session; its agent ended it when the stream dropped", peer: e.peer });
    closed++;
  }
  return closed;
}
