import { describe, expect, it } from "vitest";
import { ExecRouter, type ExecSink } from "../../../controller/member/api/exec-router.js";

function sink(hostId: string): ExecSink & { got: string[] } {
  const got: string[] = [];
  return {
    hostId,
    got,
    output: (o) => got.push(`out:${o.data.toString()}`),
    exit: (e) => got.push(`exit:${e.code}`),
    lost: (why) => got.push(`lost:${why}`),
  };
}

describe("ExecRouter: exec sessions between operator calls and agent streams", () => {
  it("refuses a session over the per-host cap, and counts hosts apart", () => {
    const r = new ExecRouter(2, 100);
    const a = r.open(sink("h1"));
    const b = r.open(sink("h1"));
    expect([a, b]).toEqual([100, 101]);
    expect(r.open(sink("h1"))).toBeUndefined();
    expect(r.open(sink("h2"))).toBe(102);
    r.close(a!);
    r.close(a!); // idempotent
    expect(r.sessionsOn("h1")).toBe(1);
    expect(r.open(sink("h1"))).toBe(103);
  });

  it("delivers output and exit only from the host the session went to, then forgets it", () => {
    const r = new ExecRouter();
    const s = sink("h1");
    const id = r.open(s)!;
    r.output("h2", { session_id: id, data: Buffer.from("forged"), stderr: false, ack: 0 });
    r.output("h1", { session_id: id, data: Buffer.from("real"), stderr: false, ack: 0 });
    r.exit("h2", { session_id: id, code: 0, signal: "", error: "" });
    r.exit("h1", { session_id: id, code: 7, signal: "", error: "" });
    r.exit("h1", { session_id: id, code: 8, signal: "", error: "" });
    expect(s.got).toEqual(["out:real", "exit:7"]);
    expect(r.size).toBe(0);
    expect(r.sessionsOn("h1")).toBe(0);
  });

  it("ends every session of a host whose stream ended, and only those", () => {
    const r = new ExecRouter();
    const s1 = sink("h1");
    const s2 = sink("h1");
    const s3 = sink("h2");
    r.open(s1);
    r.open(s2);
    r.open(s3);
    r.hostGone("h1", "its agent disconnected");
    expect(s1.got).toEqual(["lost:its agent disconnected"]);
    expect(s2.got).toEqual(["lost:its agent disconnected"]);
    expect(s3.got).toEqual([]);
    expect(r.sessionsOn("h1")).toBe(0);
    expect(r.size).toBe(1);
  });
});
