/**
 * An operator's `berth exec` relayed to the member holding the host's agent stream
 * (relay.ts): the session runs there — started, audited and ended there, with the
 * operator's token — and this member only pipes the call's messages both ways.
 * - Flow control passes through: stdin waits (the operator's call is paused) while
 *   the call to the holder cannot take more, and output waits (that call is paused)
 *   while more than a window of it is on its way to the operator (RelayWindow); the
 *   holder acknowledges output to the agent only as it is taken, so the agent stops.
 * - The operator goes away: the call to the holder is cancelled, which ends the
 *   session on the host. The holder lost mid-session: the operator's call ends with
 *   holderLost's error (the agent ended the session when its stream dropped).
 */
import type * as grpc from "@grpc/grpc-js";
import type { ExecClientMessage, ExecClientMessage__Output } from "../../../shared/gen/berth/v1/ExecClientMessage.js";
import type { ExecServerMessage, ExecServerMessage__Output } from "../../../shared/gen/berth/v1/ExecServerMessage.js";
import { EXEC_WINDOW_BYTES } from "../../../shared/exec/limits.js";
import type { Logger } from "../../../shared/log/logger.js";
import { holderLost, isConnectionLost, RelayWindow } from "./relay.js";

export interface ExecRelay {
  /** A message from the operator. */
  data(m: ExecClientMessage__Output): void;
  /** The operator half-closed (stdin ended). */
  end(): void;
  /** The operator went away. */
  cancel(): void;
}

/** The message as sent: only its one field of the oneof. */
export function clientMessage(m: ExecClientMessage__Output): ExecClientMessage {
  switch (m.msg) {
    case "start":
      return { start: m.start };
    case "stdin":
      return { stdin: m.stdin };
    case "resize":
      return { resize: m.resize };
    case "stdin_eof":
      return { stdin_eof: m.stdin_eof ?? {} };
    case undefined:
      return {};
  }
}

function serverMessage(m: ExecServerMessage__Output): { msg: ExecServerMessage; bytes: number } {
  switch (m.msg) {
    case "started":
      return { msg: { started: m.started }, bytes: 0 };
    case "stdout":
      return { msg: { stdout: m.stdout }, bytes: m.stdout?.length ?? 0 };
    case "stderr":
      return { msg: { stderr: m.stderr }, bytes: m.stderr?.length ?? 0 };
    case "exit":
      return { msg: { exit: m.exit }, bytes: 0 };
    case undefined:
      return { msg: {}, bytes: 0 };
  }
}

export function relayExec(o: {
  call: grpc.ServerDuplexStream<ExecClientMessage__Output, ExecServerMessage>;
  up: grpc.ClientDuplexStream<ExecClientMessage, ExecServerMessage__Output>;
  /** The start, and what came after it while the relay was being set up. */
  first: ExecClientMessage__Output[];
  /** The operator had half-closed already. */
  eof: boolean;
  hostId: string;
  member: string;
  log: Logger;
}): ExecRelay {
  const { call, up } = o;
  let done = false;
  let upEnded = false;
  const window = new RelayWindow(EXEC_WINDOW_BYTES);
  const endUp = (): void => {
    if (upEnded) return;
    upEnded = true;
    up.end();
  };
  const toHolder = (m: ExecClientMessage__Output): void => {
    if (done || upEnded) return;
    if (!up.write(clientMessage(m))) {
      call.pause();
      up.once("drain", () => call.resume());
    }
  };
  up.on("data", (m: ExecServerMessage__Output) => {
    if (done) return;
    const { msg, bytes } = serverMessage(m);
    call.write(msg, () => {
      if (window.taken(bytes)) up.resume();
    });
    if (window.sent(bytes)) up.pause();
  });
  up.on("error", (err: grpc.ServiceError) => {
    if (done) return;
    done = true;
    const lost = isConnectionLost(err) ? holderLost(o.hostId, o.member, "the session ended: run the command again", err.details || err.message) : undefined;
    const code = lost ? lost.code : err.code;
    const details = lost ? lost.message : err.details;
    o.log.info({ host: o.hostId, member: o.member, code }, "relayed exec session ended with an error");
    call.emit("error", Object.assign(new Error(details), { code, details }));
  });
  // The holder ended the call with OK: its exit message came before.
  up.on("end", () => {
    if (done) return;
    done = true;
    call.end();
  });
  for (const m of o.first) toHolder(m);
  if (o.eof) endUp();
  return {
    data: toHolder,
    end: endUp,
    cancel: () => {
      if (done) return;
      done = true;
      up.cancel();
    },
  };
}
