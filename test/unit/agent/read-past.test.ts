// AgentSession.readPast: a callback runs once the controller answers a heartbeat sent
// after it was added on that stream — never on the answer to one that may have left
// before it (the report it waits on could still be unread), and once only.
import { describe, expect, it } from "vitest";
import { ReadWaiters } from "../../../agent/session/read-past.js";

describe("ReadWaiters", () => {
  it("runs a callback on the answer to a later heartbeat, not to the one sent last when it was added, nor an earlier one", () => {
    const w = new ReadWaiters();
    const ran: string[] = [];
    w.add(5, () => ran.push("a"));
    w.answered(4, () => undefined);
    w.answered(5, () => undefined);
    expect(ran).toEqual([]);
    w.answered(6, () => undefined);
    expect(ran).toEqual(["a"]);
    w.answered(7, () => undefined);
    expect(ran).toEqual(["a"]);
    expect(w.size).toBe(0);
  });

  it("runs each callback once its own later heartbeat is answered; one that throws spoils no other", () => {
    const w = new ReadWaiters();
    const ran: string[] = [];
    const errors: unknown[] = [];
    w.add(1, () => {
      throw new Error("boom");
    });
    w.add(1, () => ran.push("b"));
    w.add(3, () => ran.push("c"));
    w.answered(3, (e) => errors.push(e));
    expect(ran).toEqual(["b"]);
    expect(errors).toHaveLength(1);
    expect(w.size).toBe(1);
    w.answered(4, (e) => errors.push(e));
    expect(ran).toEqual(["b", "c"]);
  });
});
