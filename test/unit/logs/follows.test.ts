import { describe, expect, it } from "vitest";
import { pino } from "pino";
import type { AgentMessage } from "../../../shared/gen/berth/v1/AgentMessage.js";
import type { LogRequest__Output } from "../../../shared/gen/berth/v1/LogRequest.js";
import { LogFollows, type Follower } from "../../../agent/logs/follows.js";
import { LOG_MAX_CHUNK_CHARS } from "../../../shared/logs/limits.js";

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
};

/** A follower that records what was asked of it; emit() plays the log file growing. */
class FakeFollower implements Follower {
  paused = false;
  closed = false;
  pauses = 0;
  constructor(private readonly onData: (s: string) => void) {}
  emit(s: string): void {
    if (!this.paused && !this.closed) this.onData(s);
  }
  close(): void {
    this.closed = true;
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
  }
}

const req = (o: Partial<LogRequest__Output> = {}): LogRequest__Output => ({ request_id: 1, instance: "web-0", install: false, tail: 100, follow: true, window: 16 * 1024, departed_service: "", ...o });

function rig(o: { tail?: string; connected?: () => boolean } = {}) {
  const sent: AgentMessage[] = [];
  const opening = deferred<Follower | undefined>();
  let follower: FakeFollower | undefined;
  const follows = new LogFollows({
    send: (m) => {
      if (o.connected && !o.connected()) return false;
      sent.push(m);
      return true;
    },
    log: pino({ level: "silent" }),
    open: (_r, onData) => {
      if (o.tail) onData(o.tail);
      follower = new FakeFollower(onData);
      return opening.promise;
    },
  });
  const data = (): string => sent.map((m) => m.log_chunk?.data ?? "").join("");
  return { follows, sent, opening, follower: () => follower!, data };
}

describe("agent log requests: flow control", () => {
  it("sends until the window is full, pauses the follower, and resumes it on acks", async () => {
    const r = rig();
    r.follows.request(req());
    r.opening.resolve(r.follower());
    await flush();
    const f = r.follower();
    for (let i = 0; i < 10; i++) f.emit("x".repeat(4096)); // 40 KiB against a 16 KiB window
    expect(r.data().length).toBe(16 * 1024);
    expect(f.paused).toBe(true);
    // The follower stopped reading: the rest stays in the log file, not here.
    r.follows.ack(1, 4 * 1024);
    expect(f.paused).toBe(true); // 12 KiB in flight: more than half
    r.follows.ack(1, 4 * 1024); // half the window free: go on
    expect(f.paused).toBe(false);
    f.emit("y".repeat(8 * 1024));
    expect(r.data().length).toBe(24 * 1024);
    expect(f.paused).toBe(true);
  });

  it("splits a large tail into chunks, sends it under the window, and eof only after the data", async () => {
    const tail = "t".repeat(3 * LOG_MAX_CHUNK_CHARS + 10);
    const r = rig({ tail });
    r.follows.request(req({ follow: false, window: 1024 * 1024 }));
    r.opening.resolve(undefined);
    await flush();
    const chunks = r.sent.map((m) => m.log_chunk!);
    expect(chunks.map((c) => c.data?.length ?? 0)).toEqual([LOG_MAX_CHUNK_CHARS, LOG_MAX_CHUNK_CHARS, LOG_MAX_CHUNK_CHARS, 10, 0]);
    expect(chunks.at(-1)).toMatchObject({ eof: true, error: "" });
    expect(r.follows.size).toBe(0);
  });

  it("holds eof behind data still waiting for the window", async () => {
    const r = rig({ tail: "z".repeat(3 * LOG_MAX_CHUNK_CHARS) });
    r.follows.request(req({ follow: false }));
    r.opening.resolve(undefined);
    await flush();
    expect(r.data().length).toBe(LOG_MAX_CHUNK_CHARS); // one piece fills the 16 KiB window
    expect(r.sent.some((m) => m.log_chunk?.eof)).toBe(false);
    r.follows.ack(1, LOG_MAX_CHUNK_CHARS);
    r.follows.ack(1, LOG_MAX_CHUNK_CHARS);
    expect(r.data().length).toBe(3 * LOG_MAX_CHUNK_CHARS);
    expect(r.sent.at(-1)?.log_chunk?.eof).toBe(true);
  });

  it("window 0 (an older controller): no flow control", async () => {
    const r = rig();
    r.follows.request(req({ window: 0 }));
    r.opening.resolve(r.follower());
    await flush();
    for (let i = 0; i < 100; i++) r.follower().emit("x".repeat(4096));
    expect(r.data().length).toBe(100 * 4096);
    expect(r.follower().pauses).toBe(0);
  });

  it("an error opening the output ends the request with it", async () => {
    const r = rig();
    r.follows.request(req());
    r.opening.reject(new Error("web-0 does not run on this host"));
    await flush();
    expect(r.sent.at(-1)?.log_chunk).toMatchObject({ eof: true, error: "web-0 does not run on this host" });
  });
});

describe("agent log requests: a cancel is never lost", () => {
  it("a cancel before the follower is registered closes it the moment it arrives", async () => {
    const r = rig();
    r.follows.request(req());
    r.follows.cancel(1); // the follower is still being opened (the tail is read first)
    r.opening.resolve(r.follower());
    await flush();
    expect(r.follower().closed).toBe(true);
    r.follower().emit("late");
    expect(r.sent).toEqual([]);
    expect(r.follows.size).toBe(0);
  });

  it("the stream's end before the follower is registered closes it too", async () => {
    const r = rig();
    r.follows.request(req());
    r.follows.closeAll();
    r.opening.resolve(r.follower());
    await flush();
    expect(r.follower().closed).toBe(true);
    expect(r.follows.size).toBe(0);
  });

  it("a cancel while following closes the follower and drops what waits", async () => {
    const r = rig();
    r.follows.request(req());
    r.opening.resolve(r.follower());
    await flush();
    for (let i = 0; i < 10; i++) r.follower().emit("x".repeat(4096));
    r.follows.cancel(1);
    expect(r.follower().closed).toBe(true);
    const n = r.sent.length;
    r.follows.ack(1, 1024 * 1024);
    expect(r.sent.length).toBe(n);
  });

  it("a send that finds no stream ends the request", async () => {
    let up = true;
    const r = rig({ connected: () => up });
    r.follows.request(req());
    r.opening.resolve(r.follower());
    await flush();
    up = false;
    r.follower().emit("x");
    expect(r.follower().closed).toBe(true);
    expect(r.follows.size).toBe(0);
  });
});
