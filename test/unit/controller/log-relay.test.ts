/**
 * One host's logs relayed from the member holding its stream (controller/member/api/
 * log-relay.ts), over fakes of both calls: the window holds the holder's call back
 * while the operator's client is slow, a cancel reaches the holder, the holder lost
 * ends the operator's call naming it, and the holder's own refusal ends that part.
 */
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { relayLogs } from "../../../controller/member/api/log-relay.js";
import { ServerStream, type StreamCall } from "../../../controller/member/api/server-stream.js";
import type { LogsChunk } from "../../../shared/gen/berth/v1/LogsChunk.js";
import type { OperatorServiceClient } from "../../../shared/gen/berth/v1/OperatorService.js";
import { LOG_WINDOW_CHARS } from "../../../shared/logs/limits.js";

/** The operator's call: writes are recorded with their callbacks, which the test runs as gRPC would. */
class OperatorCall extends EventEmitter implements StreamCall<LogsChunk> {
  readonly metadata = new grpc.Metadata();
  cancelled = false;
  ended = false;
  status: { code: number; details: string } | undefined;
  readonly written: LogsChunk[] = [];
  readonly callbacks: (() => void)[] = [];
  constructor() {
    super();
    this.on("error", (e: Error & { code?: number; details?: string }) => {
      this.status = { code: e.code ?? 2, details: e.details ?? e.message };
      this.ended = true;
    });
  }
  write(m: LogsChunk, cb?: (err?: Error | null) => void): boolean {
    this.written.push(m);
    if (cb) this.callbacks.push(() => cb());
    return true;
  }
  end(): void {
    this.ended = true;
  }
  /** gRPC takes everything written so far. */
  takeAll(): void {
    for (const cb of this.callbacks.splice(0)) cb();
  }
}

/** The call to the holder. */
class HolderCall extends EventEmitter {
  paused = false;
  cancelled = false;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  cancel(): void {
    this.cancelled = true;
  }
}

function setup(): { op: OperatorCall; up: HolderCall; s: ServerStream<LogsChunk>; ended: () => number; request: () => unknown } {
  const op = new OperatorCall();
  const up = new HolderCall();
  const s = new ServerStream<LogsChunk>(op, { method: "Logs", log: pino({ level: "silent" }), maxQueued: Infinity });
  let ended = 0;
  let asked: unknown;
  const client = { Logs: (req: unknown) => ((asked = req), up) } as unknown as OperatorServiceClient;
  relayLogs({ client, metadata: new grpc.Metadata(), request: { service: "web", host: "h1", follow: true, tail: 10 }, hostId: "h1", member: "c2", s, ended: () => ended++ });
  return { op, up, s, ended: () => ended, request: () => asked };
}

describe("relayLogs", () => {
  it("asks the holder for that host only, passes chunks on, and pauses the holder's call while more than a window is not yet taken", () => {
    const { op, up, request } = setup();
    expect(request()).toEqual({ service: "web", host: "h1", follow: true, tail: 10 });
    const chunk = "x".repeat(64 * 1024);
    for (let i = 0; i < LOG_WINDOW_CHARS / chunk.length; i++) up.emit("data", { host: "h1", instance: "web-0", data: chunk });
    expect(up.paused).toBe(false);
    up.emit("data", { host: "h1", instance: "web-0", data: "y" });
    expect(up.paused).toBe(true);
    expect(op.written).toHaveLength(5);
    op.takeAll();
    expect(up.paused).toBe(false);
  });

  it("cancels the holder's call when the operator's call closes", () => {
    const { op, up } = setup();
    op.cancelled = true;
    op.emit("cancelled");
    expect(up.cancelled).toBe(true);
  });

  it("ends the operator's call with UNAVAILABLE naming host and member when the holder is lost", () => {
    const { op, up, ended } = setup();
    up.emit("error", Object.assign(new Error("x"), { code: grpc.status.UNAVAILABLE, details: "Connection dropped" }));
    expect(op.status?.code).toBe(grpc.status.UNAVAILABLE);
    expect(op.status?.details).toMatch(/^host h1: its agent stream is on member c2, which was lost or cannot be reached \(Connection dropped\); its logs ended/);
    expect(ended()).toBe(0);
  });

  it("ends only this host's part, with a line, when the holder answers with an error of its own; the operator's standing ends the call", () => {
    const a = setup();
    a.up.emit("error", Object.assign(new Error("x"), { code: grpc.status.FAILED_PRECONDITION, details: "web has no instance on h1" }));
    expect(a.op.written.at(-1)?.data).toBe("[berth: host h1 (via member c2): web has no instance on h1]\n");
    expect(a.ended()).toBe(1);
    expect(a.op.status).toBeUndefined();
    const b = setup();
    b.up.emit("error", Object.assign(new Error("x"), { code: grpc.status.UNAUTHENTICATED, details: "the token was revoked" }));
    expect(b.op.status).toEqual({ code: grpc.status.UNAUTHENTICATED, details: "the token was revoked" });
  });

  it("ends its part once the holder's call ends", () => {
    const { up, ended } = setup();
    up.emit("end");
    up.emit("end");
    expect(ended()).toBe(1);
  });
});
