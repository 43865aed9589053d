/**
 * The Connect stream: authenticated by the host's client certificate, then a
 * small dispatcher over the message kinds — each kind's handling lives in its own
 * file. Every kind but Hello needs a Hello first; a handler that throws refuses
 * the message and ends the stream with the error's status.
 */
import * as grpc from "@grpc/grpc-js";
import type { AgentMessage__Output } from "../../../shared/gen/berth/v1/AgentMessage.js";
import type { AgentServiceHandlers } from "../../../shared/gen/berth/v1/AgentService.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import { randomInt } from "node:crypto";
import { GrpcError, toStatus } from "../api/errors.js";
import { loadProtos } from "../../../shared/proto.js";
import { ReadWindow, type ReadWindowConfig } from "./read-window.js";
import { certHost } from "./cert-host.js";
import { REFUSAL_HOST_REMOVED, REFUSAL_KEY } from "../../../shared/tls/refusal.js";
import type { AgentServiceDeps } from "./deps.js";
import { onHeartbeat } from "./heartbeat.js";
import { onHello } from "./hello.js";
import { onInstanceStatus } from "./instance-status.js";
import { onExecExit, onExecOutput, onLogChunk } from "./relays.js";
import { onCertificateStored, onRenewCertificate } from "./renew.js";
import type { AgentMessageKind, AgentStream } from "./stream.js";

type Dispatch = { [K in AgentMessageKind]: (d: AgentServiceDeps, s: AgentStream, payload: NonNullable<AgentMessage__Output[K]>) => Promise<void> | void };

const HANDLERS: Dispatch = {
  hello: onHello,
  heartbeat: onHeartbeat,
  instance_status: onInstanceStatus,
  log_chunk: onLogChunk,
  exec_output: onExecOutput,
  exec_exit: onExecExit,
  renew_certificate: onRenewCertificate,
  certificate_stored: onCertificateStored,
  read_receipt: (_d, s, r) => s.readReceipt(r.token),
};

/** Kinds that mean nothing before the stream says whose it is (relays are dropped instead: no stream is current yet). */
const NEEDS_HELLO: ReadonlySet<AgentMessageKind> = new Set(["heartbeat", "instance_status"]);

async function dispatch(d: AgentServiceDeps, s: AgentStream, msg: AgentMessage__Output): Promise<void> {
  const kind = msg.msg;
  const payload = kind ? msg[kind] : undefined;
  if (!kind || !payload) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "empty or unknown message");
  if (NEEDS_HELLO.has(kind) && !s.greeted) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${kind} before hello`);
  // The map is keyed by kind, so the payload fits its handler; TypeScript cannot follow the correlation.
  await (HANDLERS[kind] as (d: AgentServiceDeps, s: AgentStream, p: typeof payload) => Promise<void> | void)(d, s, payload);
}

let streamSeq = 0;

let serialize: ((m: ControllerMessage) => Buffer) | undefined;

/** Every stream's read window (read-window.ts): a message's bytes on the stream (its encoding and gRPC's 5-byte prefix), and random tokens. */
const WINDOW: ReadWindowConfig = {
  size: (m) => {
    serialize ??= loadProtos().agent.berth.v1.AgentService.service.Connect.responseSerialize as (m: ControllerMessage) => Buffer;
    return serialize(m).length + 5;
  },
  token: () => randomInt(2 ** 48 - 1),
};

/** Messages (acks aside) that may wait for an agent whose stream's buffer is full, before the stream is ended. */
export const AGENT_MAX_BEHIND = 1000;

/**
 * How the controller writes to an agent's stream. It sends little (acks, assignments),
 * but an agent that reads nothing while it keeps sending made gRPC buffer every
 * heartbeat's ack without bound (~180 bytes each, 300 MB a minute). While the call's
 * buffer is full, acks are dropped (the agent reads none of them anyway), and past
 * `max` other messages `over` is called once (the stream is ended; the agent connects again).
 */
export function boundedSender(
  call: { write(m: ControllerMessage): boolean; once(event: "drain", fn: () => void): unknown },
  over: (why: string) => void,
  max = AGENT_MAX_BEHIND,
): (m: ControllerMessage) => void {
  let blocked = false;
  let behind = 0;
  let ended = false;
  return (m) => {
    if (ended) return;
    if (blocked) {
      if (m.heartbeat_ack) return;
      if (++behind > max) {
        ended = true;
        return over(`the agent read nothing of the last ${max} messages sent to it: its stream is ended (it connects again)`);
      }
    }
    if (!call.write(m) && !blocked) {
      blocked = true;
      call.once("drain", () => {
        blocked = false;
        behind = 0;
      });
    }
  };
}

/** The mark on a removed host's refusal: its agent stops its services and exits instead of knocking for ever. */
function removedMark(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(REFUSAL_KEY, REFUSAL_HOST_REMOVED);
  return md;
}

export function connectHandler(d: AgentServiceDeps): AgentServiceHandlers["Connect"] {
  return (call) => {
    const sid = ++streamSeq;
    const fail = (code: grpc.status, details: string, metadata?: grpc.Metadata): void => {
      d.log.warn({ peer: call.getPeer(), reason: details }, "agent stream refused");
      call.emit("error", Object.assign(new Error(details), { code, details, ...(metadata ? { metadata } : {}) }));
    };
    const who = certHost(d, call);
    if ("refuse" in who) return fail(who.refuse.code, who.refuse.details, who.refuse.removed ? removedMark() : undefined);
    const hostId = who.hostId;
    const log = d.log.child({ host: hostId });
    // Backpressure: see boundedSender, and behind a front the read window.
    const exhausted = (why: string): void => fail(grpc.status.RESOURCE_EXHAUSTED, why);
    const sendTo = boundedSender(call, exhausted);
    const window = d.readWindow ? new ReadWindow(sendTo, exhausted, WINDOW) : undefined;
    const stream: AgentStream = {
      hostId,
      sid,
      certSerial: who.serial,
      log,
      send: window ? (m: ControllerMessage) => window.send(m) : sendTo,
      readReceipt: (token) => window?.receipt(token),
      peer: () => call.getPeer(),
      end: () => {
        window?.close();
        call.end();
      },
      greeted: false,
    };

    call.on("data", (msg: AgentMessage__Output) => {
      dispatch(d, stream, msg).catch((err: unknown) => {
        const s = toStatus(err);
        if (s.internal) log.error({ err }, "agent stream failed");
        fail(s.code, s.details);
      });
    });
    const closed = (): void => {
      window?.close();
      const live = d.registry.live.get(hostId);
      if (live?.streamId === sid) {
        live.disconnect = undefined;
        live.send = undefined;
        live.streamId = undefined;
        d.logs.hostGone(hostId);
        d.execs.hostGone(hostId, "its agent disconnected");
        log.info("agent disconnected");
      }
    };
    call.on("end", () => {
      closed();
      call.end();
    });
    call.on("cancelled", closed);
    call.on("error", closed);
  };
}
