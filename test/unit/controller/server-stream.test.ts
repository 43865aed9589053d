import { describe, expect, it, vi } from "vitest";
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { serveStream, STREAM_MAX_QUEUED_BYTES, StreamSlots, type ServeStreamOptions, type StreamCall } from "../../../controller/member/api/server-stream.js";
import { GrpcError } from "../../../controller/member/api/errors.js";

/** A gRPC server call as the helper sees it: writes are recorded, write() says "full" on demand. */
class FakeCall extends EventEmitter implements StreamCall<string> {
  readonly metadata = new grpc.Metadata();
  cancelled = false;
  full = false;
  ended = false;
  status: { code: number; details: string } | undefined;
  readonly written: string[] = [];
  readonly callbacks: ((err?: Error | null) => void)[] = [];
  writesAfterClose = 0;

  constructor() {
    super();
    // As ServerWritableStreamImpl does: an emitted error becomes the status and ends the call.
    this.on("error", (e: Error & { code?: number; details?: string }) => {
      this.status = { code: e.code ?? 2, details: e.details ?? e.message };
      this.end();
    });
  }

  write(m: string, cb?: (err?: Error | null) => void): boolean {
    if (this.cancelled || this.ended) this.writesAfterClose++;
    this.written.push(m);
    if (cb) this.callbacks.push(cb);
    return !this.full;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit("close");
  }

  cancel(): void {
    this.cancelled = true;
    this.emit("cancelled");
    this.emit("close");
  }

  drain(): void {
    this.full = false;
    this.emit("drain");
  }

  /** Listeners the helper put on the call (the fake's own error listener excluded). */
  helperListeners(): number {
    return this.listenerCount("cancelled") + this.listenerCount("close") + this.listenerCount("drain") + this.listenerCount("error") - 1;
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

/** A source of events, like the reconcile loop's onPass: counts its listeners. */
class Source {
  readonly listeners = new Set<() => void>();
  on(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }
  fire(): void {
    for (const fn of [...this.listeners]) fn();
  }
}

const log = pino({ level: "silent" });

/** A watch as the handlers write one: auth, then an async setup step, then a listener and a timer. */
function watch(call: FakeCall, o: Partial<ServeStreamOptions<string, string>> = {}) {
  const auth = deferred<string>();
  const setup = deferred<void>();
  const source = new Source();
  let timers = 0;
  let started = false;
  const s = serveStream<string, string>(call, {
    method: "Test",
    log,
    auth: () => auth.promise,
    async start(st) {
      started = true;
      await setup.promise; // e.g. a store read
      st.onClose(source.on(() => st.send("event")));
      timers++;
      st.onClose(() => timers--);
      st.send("first");
    },
    ...o,
  });
  return { s, auth, setup, source, timers: () => timers, started: () => started };
}

describe("serveStream: a cancel at any stage leaves nothing registered", () => {
  it("while the token is checked: start never runs", async () => {
    const call = new FakeCall();
    const w = watch(call);
    expect(w.s.state).toBe("authenticating");
    call.cancel();
    w.auth.resolve("viewer");
    await flush();
    expect(w.started()).toBe(false);
    expect(w.source.listeners.size).toBe(0);
    expect(call.written).toEqual([]);
    expect(call.helperListeners()).toBe(0);
  });

  it("between auth and registration: what registers late is unregistered at once", async () => {
    const call = new FakeCall();
    const w = watch(call);
    w.auth.resolve("viewer");
    await flush();
    expect(w.s.state).toBe("starting");
    call.cancel();
    w.setup.resolve();
    await flush();
    expect(w.source.listeners.size).toBe(0);
    expect(w.timers()).toBe(0);
    expect(call.written).toEqual([]);
    expect(call.writesAfterClose).toBe(0);
    expect(call.helperListeners()).toBe(0);
  });

  it("while streaming: everything unregisters and nothing more is written", async () => {
    const call = new FakeCall();
    const w = watch(call);
    w.auth.resolve("viewer");
    w.setup.resolve();
    await flush();
    expect(w.s.state).toBe("streaming");
    w.source.fire();
    expect(call.written).toEqual(["first", "event"]);
    call.cancel();
    expect(w.source.listeners.size).toBe(0);
    expect(w.timers()).toBe(0);
    w.source.fire();
    expect(w.s.send("late")).toBe(false);
    expect(call.writesAfterClose).toBe(0);
    expect(call.helperListeners()).toBe(0);
  });

  it("a refused token ends the call with its status; nothing was started", async () => {
    const call = new FakeCall();
    const w = watch(call);
    w.auth.reject(new GrpcError(grpc.status.PERMISSION_DENIED, "this needs the viewer role"));
    await flush();
    expect(call.status).toEqual({ code: grpc.status.PERMISSION_DENIED, details: "this needs the viewer role" });
    expect(w.started()).toBe(false);
    expect(call.helperListeners()).toBe(0);
  });

  it("a setup that throws after registering ends the call and unregisters", async () => {
    const call = new FakeCall();
    const source = new Source();
    serveStream<string, string>(call, {
      method: "Test",
      log,
      auth: async () => "viewer",
      start(st) {
        st.onClose(source.on(() => undefined));
        throw new GrpcError(grpc.status.NOT_FOUND, 'no service "x"');
      },
    });
    await flush();
    expect(call.status?.code).toBe(grpc.status.NOT_FOUND);
    expect(source.listeners.size).toBe(0);
    expect(call.helperListeners()).toBe(0);
  });

  it("an error of the call itself (the server ending it) closes the stream too", async () => {
    const call = new FakeCall();
    const w = watch(call);
    w.auth.resolve("viewer");
    w.setup.resolve();
    await flush();
    call.emit("error", Object.assign(new Error("boom"), { code: grpc.status.INTERNAL }));
    expect(w.s.closed).toBe(true);
    expect(w.source.listeners.size).toBe(0);
  });
});

describe("serveStream: backpressure", () => {
  const streaming = async (o: Partial<ServeStreamOptions<string, string>> = {}) => {
    const call = new FakeCall();
    const w = watch(call, o);
    w.auth.resolve("viewer");
    w.setup.resolve();
    await flush();
    call.written.length = 0;
    return { call, ...w };
  };

  it("waits for drain once write() says the buffer is full, then sends in order", async () => {
    const { call, s } = await streaming();
    call.full = true;
    s.send("a"); // accepted by gRPC, which is now full
    s.send("b");
    s.send("c");
    expect(call.written).toEqual(["a"]);
    expect(s.queued).toBe(2);
    call.drain();
    expect(call.written).toEqual(["a", "b", "c"]);
    expect(s.queued).toBe(0);
  });

  it("latestOnly: a slow client gets the newest whole state, not every one", async () => {
    const { call, s } = await streaming({ latestOnly: true, maxQueued: 1 });
    call.full = true;
    for (const m of ["v1", "v2", "v3", "v4"]) s.send(m);
    expect(s.queued).toBe(1);
    call.drain();
    expect(call.written).toEqual(["v1", "v4"]);
    expect(s.closed).toBe(false);
  });

  it("a client that falls further behind than the bound is ended with RESOURCE_EXHAUSTED", async () => {
    const { call, s, source } = await streaming({ maxQueued: 3 });
    call.full = true;
    for (let i = 0; i < 4; i++) expect(s.send(`m${i}`)).toBe(true);
    expect(s.send("m4")).toBe(false);
    expect(call.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(call.status?.details).toMatch(/the client reads too slowly: more than 3 messages were waiting/);
    expect(source.listeners.size).toBe(0);
    expect(call.helperListeners()).toBe(0);
  });

  it("bounds bytes too, when given a size", async () => {
    const { call, s } = await streaming({ sizeOf: (m) => m.length, maxQueuedBytes: 10 });
    call.full = true;
    s.send("x".repeat(100)); // handed to gRPC: not ours to count
    s.send("y".repeat(6));
    expect(s.closed).toBe(false);
    s.send("z".repeat(6));
    expect(call.status?.details).toMatch(/more than 10 bytes/);
  });

  it("bounds bytes by default, weighing only what waits: a watcher that never reads cannot fill the heap", async () => {
    const { call, s } = await streaming();
    call.full = true;
    const big = "e".repeat(4096);
    let sent = 0;
    while (s.send(big) && sent < 10_000) sent++;
    expect(s.closed).toBe(true);
    expect(sent).toBeLessThan(STREAM_MAX_QUEUED_BYTES / 4096 + 2);
    expect(call.status?.details).toMatch(new RegExp(`more than ${STREAM_MAX_QUEUED_BYTES} bytes`));
  });

  it("whenRoom: resolves once what waits has gone to the client; a client that reads nothing for the wait has its stream ended", async () => {
    const { call, s } = await streaming();
    await s.whenRoom(1000); // nothing waits
    call.full = true;
    s.send("a");
    s.send("b");
    let room = false;
    const waited = s.whenRoom(60_000).then(() => (room = true));
    await flush();
    expect(room).toBe(false);
    call.drain();
    await waited;
    expect(call.written.slice(-2)).toEqual(["a", "b"]);
    call.full = true;
    s.send("c");
    s.send("d");
    await s.whenRoom(20);
    expect(s.closed).toBe(true);
    expect(call.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(call.status?.details).toMatch(/read nothing for 0s/);
  });

  it("runs the written callback only once gRPC has taken the message, never after a cancel", async () => {
    const { call, s } = await streaming();
    let acked = 0;
    s.send("a", () => acked++);
    s.send("b", () => acked++);
    expect(acked).toBe(0);
    call.callbacks[0]!();
    expect(acked).toBe(1);
    call.cancel();
    call.callbacks[1]!();
    expect(acked).toBe(1);
  });

  it("end() hands what is queued to gRPC, then ends the call", async () => {
    const { call, s, source } = await streaming();
    call.full = true;
    s.send("a");
    s.send("b");
    s.end();
    expect(call.written).toEqual(["a", "b"]);
    expect(call.ended).toBe(true);
    expect(source.listeners.size).toBe(0);
    expect(s.send("c")).toBe(false);
  });
});

describe("a stream opened with a token that is then revoked", () => {
  it("ends with UNAUTHENTICATED and unregisters everything it registered", async () => {
    const call = new FakeCall();
    const revoke = new AbortController();
    const source = new Source();
    serveStream<string, { tokenId: string; revoked: AbortSignal }>(call, {
      method: "Test",
      log,
      auth: async () => ({ tokenId: "t1", revoked: revoke.signal }),
      start(st) {
        st.onClose(source.on(() => st.send("event")));
        st.send("first");
      },
    });
    await flush();
    source.fire();
    expect(call.written).toEqual(["first", "event"]);
    revoke.abort();
    expect(call.status).toEqual({ code: grpc.status.UNAUTHENTICATED, details: "the token this stream was opened with was revoked" });
    expect(source.listeners.size).toBe(0);
    expect(call.helperListeners()).toBe(0);
    source.fire();
    expect(call.written).toEqual(["first", "event"]);
  });

  it("revoked while it was being authenticated: never starts", async () => {
    const call = new FakeCall();
    const revoke = new AbortController();
    revoke.abort();
    let started = false;
    serveStream<string, { revoked: AbortSignal }>(call, {
      method: "Test",
      log,
      auth: async () => ({ revoked: revoke.signal }),
      start() {
        started = true;
      },
    });
    await flush();
    expect(started).toBe(false);
    expect(call.status?.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe("a stream opened with a token that then expires", () => {
  it("ends with UNAUTHENTICATED when the token runs out, not only when it is revoked", async () => {
    vi.useFakeTimers();
    try {
      const call = new FakeCall();
      const source = new Source();
      serveStream<string, { revoked: AbortSignal; expiresInMs: number }>(call, {
        method: "Test",
        log,
        auth: async () => ({ revoked: new AbortController().signal, expiresInMs: 60_000 }),
        start(st) {
          st.onClose(source.on(() => st.send("event")));
        },
      });
      await vi.advanceTimersByTimeAsync(59_999);
      source.fire();
      expect(call.written).toEqual(["event"]);
      expect(call.status).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(call.status).toEqual({ code: grpc.status.UNAUTHENTICATED, details: "the token this stream was opened with expired" });
      expect(source.listeners.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a token with no expiry keeps its stream", async () => {
    const call = new FakeCall();
    serveStream<string, { revoked: AbortSignal }>(call, { method: "Test", log, auth: async () => ({ revoked: new AbortController().signal }), start: () => undefined });
    await flush();
    expect(call.status).toBeUndefined();
  });
});

describe("StreamSlots", () => {
  const stream = () => {
    const fns: (() => void)[] = [];
    return { closed: false, onClose: (fn: () => void) => void fns.push(fn), close() { this.closed = true; for (const f of fns) f(); } };
  };

  it("gives n turns at once; the next waits for a release, in order; a waiting stream that closes leaves the queue", async () => {
    const slots = new StreamSlots(1);
    const a = stream(), b = stream(), c = stream();
    const ra = await slots.take(a);
    expect(ra).toBeTypeOf("function");
    let gotB: unknown = "waiting";
    let gotC: unknown = "waiting";
    const pb = slots.take(b).then((r) => (gotB = r));
    const pc = slots.take(c).then((r) => (gotC = r));
    await flush();
    expect([gotB, gotC]).toEqual(["waiting", "waiting"]);
    b.close();
    await pb;
    expect(gotB).toBeUndefined();
    ra!();
    ra!(); // a second release gives nothing more
    await pc;
    expect(gotC).toBeTypeOf("function");
    // c holds the only slot: one more waits.
    const d = stream();
    let gotD: unknown = "waiting";
    const pd = slots.take(d).then((r) => (gotD = r));
    await flush();
    expect(gotD).toBe("waiting");
    (gotC as () => void)();
    await pd;
    expect(gotD).toBeTypeOf("function");
  });
});
