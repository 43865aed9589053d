/**
 * A unary or server-streaming call runs its handler (and so checks its token)
 * only once the whole request message is in. A peer that sends the headers and
 * then nothing, or trickles the message, would hold its stream, and with it the
 * connection (a connection with a call open is never idle), for ever. This
 * interceptor ends such a call when its request has not arrived in time.
 * Client-streaming calls are not timed here: their handlers authenticate on the
 * headers at once (UploadArtifact, the agent stream) or bound the wait for
 * their first message themselves (Exec).
 */
import * as grpc from "@grpc/grpc-js";
import { constants as h2 } from "node:http2";
import { setTimeoutClamped } from "../../../shared/timer.js";

/** The whole request of a unary or server-streaming call must arrive within this. @default 30000 */
export const REQUEST_ARRIVAL_MS = 30_000;

export function requestArrivalInterceptor(limitMs: number = REQUEST_ARRIVAL_MS): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.requestStream) return new grpc.ServerInterceptingCall(call);
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => clearTimeout(timer);
    const ic: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        timer = setTimeoutClamped(() => {
          ic.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: `the request did not arrive within ${limitMs / 1000}s`, metadata: new grpc.Metadata() });
          // The status ends our side only; a peer that never ends its own keeps
          // the stream, and so the connection, open. RST_STREAM(NO_ERROR) after a
          // complete response is HTTP/2's way to say "stop sending" (RFC 9113 §8.1).
          streamOf(call)?.close(h2.NGHTTP2_NO_ERROR);
        }, limitMs);
        timer.unref();
        next({
          onReceiveMessage: (msg, nextMsg) => {
            stop();
            nextMsg(msg);
          },
          onCancel: stop,
        });
      },
      sendStatus: (status, next) => {
        stop();
        next(status);
      },
    });
    return ic;
  };
}

/**
 * The HTTP/2 stream under a grpc-js server call. grpc-js keeps it private: its
 * base call holds it as `stream`, each interceptor's call the next as
 * `nextCall`. Narrowed structurally; undefined if a grpc-js release moves it
 * (then the call still ends, only its stream waits for the peer).
 */
function streamOf(call: unknown): { close(code: number): void } | undefined {
  for (let c = call, depth = 0; typeof c === "object" && c !== null && depth < 16; depth++) {
    const o = c as { stream?: unknown; nextCall?: unknown };
    const st = o.stream as { close?: unknown; closed?: unknown } | undefined;
    if (st && typeof st.close === "function") return st.closed ? undefined : (st as { close(code: number): void });
    c = o.nextCall;
  }
  return undefined;
}
