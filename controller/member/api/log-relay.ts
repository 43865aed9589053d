/**
 * One host's part of an operator's `berth logs` relayed to the member that holds
 * the host's agent stream (relay.ts): the same request narrowed to that host, its
 * chunks passed on as they come under one flow-control window (RelayWindow), a
 * cancel passed back (the holder then cancels the agent's log request). The
 * holder lost mid-call ends the operator's call with holderLost's error; any other
 * error of the holder's ends that host's part with a line saying so, as a host
 * that disconnects does.
 */
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceClient } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { LogsChunk, LogsChunk__Output } from "../../../shared/gen/berth/v1/LogsChunk.js";
import type { LogsRequest } from "../../../shared/gen/berth/v1/LogsRequest.js";
import { LOG_WINDOW_CHARS } from "../../../shared/logs/limits.js";
import { GrpcError } from "./errors.js";
import { holderLost, isConnectionLost, RelayWindow } from "./relay.js";
import type { ServerStream } from "./server-stream.js";

export function relayLogs(o: {
  /** The operator's call's own client of that member (MemberPeers.operatorOwn), which the caller closes. */
  client: OperatorServiceClient;
  metadata: grpc.Metadata;
  request: LogsRequest;
  hostId: string;
  member: string;
  s: ServerStream<LogsChunk>;
  /** This host's part ended (its logs ended, or the holder answered with an error). */
  ended(): void;
}): { cancel(): void } {
  const up = o.client.Logs(o.request, o.metadata);
  const window = new RelayWindow(LOG_WINDOW_CHARS);
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    o.ended();
  };
  // The operator went away (or another part failed the call, or the service left the host): the holder's call ends, and with it the agent's request.
  const cancel = (): void => {
    if (done) return;
    done = true;
    up.cancel();
  };
  o.s.onClose(cancel);
  up.on("data", (c: LogsChunk__Output) => {
    if (done) return;
    const n = c.data.length;
    o.s.send({ host: c.host, instance: c.instance, data: c.data }, () => {
      if (window.taken(n)) up.resume();
    });
    if (window.sent(n)) up.pause();
  });
  up.on("error", (err: grpc.ServiceError) => {
    if (done) return;
    if (isConnectionLost(err)) {
      done = true;
      o.s.fail(holderLost(o.hostId, o.member, "its logs ended", err.details || err.message));
      return;
    }
    // The operator's own standing (a revoked token, a role) ends the whole call, as it would here.
    if (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED) {
      done = true;
      o.s.fail(new GrpcError(err.code, err.details));
      return;
    }
    o.s.send({ host: o.hostId, instance: "", data: `[berth: host ${o.hostId} (via member ${o.member}): ${err.details}]\n` });
    finish();
  });
  // Ended by the holder with OK, once every chunk was read.
  up.on("end", finish);
  return { cancel };
}
