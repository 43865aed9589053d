// An agent that reads nothing while it keeps sending: the controller's writes to it are bounded.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { boundedSender } from "../../../controller/member/agent-stream/connect.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";

class Call extends EventEmitter {
  full = false;
  readonly written: ControllerMessage[] = [];
  write(m: ControllerMessage): boolean {
    this.written.push(m);
    return !this.full;
  }
}

const ack: ControllerMessage = { heartbeat_ack: { seq: 1, sent_at_ms: 1 } } as ControllerMessage;
const assignment: ControllerMessage = { assignment: { instances: [] } } as unknown as ControllerMessage;

describe("boundedSender", () => {
  it("while the agent's buffer is full, drops acks, lets up to max other messages wait, then ends the stream once", () => {
    const call = new Call();
    const ends: string[] = [];
    const send = boundedSender(call, (why) => ends.push(why), 3);
    send(ack);
    expect(call.written).toHaveLength(1);
    call.full = true;
    send(assignment); // gRPC takes it, and is full from now
    for (let i = 0; i < 100; i++) send(ack);
    expect(call.written).toHaveLength(2);
    for (let i = 0; i < 3; i++) send(assignment);
    expect(ends).toEqual([]);
    send(assignment);
    send(assignment);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatch(/read nothing of the last 3 messages/);
    expect(call.written).toHaveLength(5);
  });

  it("a drain resets the count and lets acks through again", () => {
    const call = new Call();
    const ends: string[] = [];
    const send = boundedSender(call, (why) => ends.push(why), 2);
    call.full = true;
    send(assignment);
    send(assignment);
    send(assignment);
    call.full = false;
    call.emit("drain");
    send(ack);
    send(assignment);
    send(assignment);
    send(assignment);
    expect(ends).toEqual([]);
    expect(call.written.filter((m) => m.heartbeat_ack)).toHaveLength(1);
  });
});
