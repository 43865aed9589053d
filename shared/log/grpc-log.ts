/**
 * grpc-js's own log lines in the daemon's structured log, not as bare `E …` lines on
 * stderr beside it. One kind is known and said better elsewhere: a bind that found
 * its port taken (the controller exits naming --listen), kept at debug.
 */
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "./logger.js";

const SAID_ELSEWHERE = /No address added out of total/;

export function routeGrpcLogs(log: Logger): void {
  const line = (...args: unknown[]): void => {
    const text = args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
    if (SAID_ELSEWHERE.test(text)) log.debug({ grpc: text }, "grpc-js");
    else log.warn({ grpc: text }, "grpc-js");
  };
  grpc.setLogger({ error: line, warn: line, info: line, debug: line, log: line });
}
