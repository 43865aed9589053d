import { describe, expect, it } from "vitest";
import { EventEmitter } from "node:events";
import type { AgentMessage } from "../../../shared/gen/berth/v1/AgentMessage.js";
import { laneOf, Outbound, type OutboundStream } from "../../../agent/session/outbound.js";

/** gRPC's client stream as Outbound sees it: writes are recorded; done() plays the socket sending one. */
class FakeStream extends EventEmitter implements OutboundStream {
  readonly written: AgentMessage[] = [];
  private readonly pending: (() => void)[] = [];
  full = false;
  write(m: AgentMessage, cb: () => void): boolean {
    this.written.push(m);
    this.pending.push(cb);
    return !this.full;
  }
  /** The oldest write has left. */
  done(): void {
    this.pending.shift()?.();
  }
  drain(): void {
    this.full = false;
    this.emit("drain");
  }
}

const chunk = (id: number, n: number): AgentMessage => ({ log_chunk: { request_id: id, data: "x".repeat(n) } });
const beat = (seq: number): AgentMessage => ({ heartbeat: { seq, sent_at_ms: 0 } });
const kinds = (ms: AgentMessage[]): string[] => ms.map((m) => (m.heartbeat ? `hb${m.heartbeat.seq}` : m.log_chunk ? `log${m.log_chunk.request_id}` : m.instance_status ? "status" : "other"));

describe("agent stream outbound: heartbeats never behind bulk data", () => {
  it("sorts messages into lanes", () => {
    expect(laneOf(beat(1))).toBe("control");
    expect(laneOf({ hello: { host_id: "h" } })).toBe("control");
    expect(laneOf({ instance_status: { state: "healthy" } })).toBe("control");
    expect(laneOf(chunk(1, 1))).toBe("bulk");
    expect(laneOf({ exec_output: { session_id: 1, data: Buffer.from("x") } })).toBe("bulk");
    expect(laneOf({ exec_exit: { session_id: 1 } })).toBe("bulk");
  });

  it("hands the stream at most the in-flight bound of bulk; a heartbeat goes straight after it, ahead of the queue", () => {
    const s = new FakeStream();
    const out = new Outbound(s, 100_000);
    for (let i = 1; i <= 10; i++) out.send(chunk(i, 64 * 1024));
    expect(kinds(s.written)).toEqual(["log1", "log2"]); // 128 KiB in flight ≥ the bound
    expect(out.queuedBulkBytes).toBeGreaterThan(500_000);
    out.send(beat(1));
    out.send({ instance_status: { state: "healthy" } });
    expect(kinds(s.written)).toEqual(["log1", "log2", "hb1", "status"]);
    s.done(); // log1 left: room for one more
    expect(kinds(s.written).slice(4)).toEqual(["log3"]);
  });

  it("keeps bulk in the order it was made (data before its eof or exit)", () => {
    const s = new FakeStream();
    const out = new Outbound(s, 1);
    out.send(chunk(1, 10));
    out.send({ exec_output: { session_id: 7, data: Buffer.from("out") } });
    out.send({ exec_exit: { session_id: 7, code: 0 } });
    out.send({ log_chunk: { request_id: 1, eof: true } });
    for (let i = 0; i < 4; i++) s.done();
    expect(s.written.map((m) => Object.keys(m).find((k) => k !== "msg"))).toEqual(["log_chunk", "exec_output", "exec_exit", "log_chunk"]);
    expect(out.inFlightBulkBytes).toBe(0);
  });

  it("waits for drain when the stream asks to, control messages still going first", () => {
    const s = new FakeStream();
    const out = new Outbound(s);
    s.full = true;
    out.send(chunk(1, 10)); // written; the stream now asks us to wait
    out.send(chunk(2, 10));
    out.send(beat(1));
    expect(kinds(s.written)).toEqual(["log1", "hb1"]);
    s.drain();
    expect(kinds(s.written)).toEqual(["log1", "hb1", "log2"]);
  });

  it("skips a heartbeat while the one before has not left (a stalled socket), and sends again once it has", () => {
    const s = new FakeStream();
    const out = new Outbound(s);
    out.send(beat(1));
    out.send(beat(2));
    expect(kinds(s.written)).toEqual(["hb1"]);
    expect(out.skippedHeartbeats).toBe(1);
    s.done();
    out.send(beat(3));
    expect(kinds(s.written)).toEqual(["hb1", "hb3"]);
  });
});
