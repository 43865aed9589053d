/**
 * The one way to serve a server stream (`events -f`, `logs -f`, `endpoints -w`,
 * `rollout status -w`): authenticate first, then start; everything the stream
 * registers (listeners, timers, store watches, agent requests) is handed to
 * `onClose`, so a cancel at any stage — while the token is checked, while the
 * watch is being set up, or while it streams — unregisters all of it. Nothing is
 * written to a call that was cancelled or ended.
 *
 * Backpressure: gRPC's write() returns false once its buffer is full (the client
 * reads slower than we produce). From then on messages wait in a queue of ours
 * until "drain". The queue is bounded: a stream whose messages are each the whole
 * state (`latestOnly`) keeps only the newest one; any other stream that falls
 * further behind than its bound is ended with RESOURCE_EXHAUSTED, saying why,
 * rather than holding an ever growing buffer on the controller.
 */
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../../../shared/log/logger.js";
import { GrpcError, toStatus } from "./errors.js";
import { setTimeoutClamped } from "../../../shared/timer.js";

/** What a server stream needs of gRPC's call (ServerWritableStream); tests give a fake. */
export interface StreamCall<Res> {
  readonly metadata: grpc.Metadata;
  readonly cancelled: boolean;
  write(msg: Res, cb?: (err?: Error | null) => void): boolean;
  end(): void;
  emit(event: "error", err: Error): boolean;
  on(event: "cancelled" | "close" | "error", fn: () => void): unknown;
  once(event: "drain", fn: () => void): unknown;
  removeListener(event: "cancelled" | "close" | "error" | "drain", fn: () => void): unknown;
}

/** Messages a stream may have waiting for a slow client, beyond gRPC's own buffer. @default 10_000 */
export const STREAM_MAX_QUEUED = 10_000;

/**
 * Bytes a stream may have waiting for a slow client: a count alone let a few
 * watchers that never read (each with thousands of 4 KB events waiting) fill the
 * controller's heap until it died.
 */
export const STREAM_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** What a message weighs while it waits: its JSON's length, worked out only for messages that wait. */
export function roughSize(m: unknown): number {
  try {
    return JSON.stringify(m)?.length ?? 0;
  } catch {
    return 1024;
  }
}

export interface ServeStreamOptions<Res, Who> {
  /** The RPC's name, for logs. */
  method: string;
  log: Logger;
  /**
   * Authenticates (and authorises) the caller; nothing else happens before it succeeds.
   * When the principal carries a `revoked` signal (its token), the stream ends with
   * UNAUTHENTICATED once it aborts: a revoked token keeps nothing open.
   */
  auth: () => Promise<Who>;
  /**
   * Sets the stream up: reads what it needs and registers its listeners, each
   * handed to `s.onClose`. May be async; a throw ends the call with its status.
   */
  start: (s: ServerStream<Res>, who: Who) => void | Promise<void>;
  /** Each message is the whole state: while the client is slow, only the newest one waits. */
  latestOnly?: boolean;
  /** @default STREAM_MAX_QUEUED */
  maxQueued?: number;
  /** Bytes waiting (as `sizeOf` weighs them). @default STREAM_MAX_QUEUED_BYTES */
  maxQueuedBytes?: number;
  /** @default roughSize */
  sizeOf?: (m: Res) => number;
}

type Phase = "authenticating" | "starting" | "streaming" | "closed";

interface Queued<Res> {
  m: Res;
  size: number;
  written?: () => void;
}

export class ServerStream<Res> {
  private phase: Phase = "authenticating";
  private readonly cleanups: (() => void)[] = [];
  private readonly queue: Queued<Res>[] = [];
  private queuedBytes = 0;
  private blocked = false;
  private readonly onCancel = (): void => this.close("cancelled by the client");
  private readonly onCallClose = (): void => this.close("call closed");
  private readonly roomWaiters = new Set<() => void>();
  private readonly onDrain = (): void => {
    this.blocked = false;
    this.flush();
    for (const w of [...this.roomWaiters]) w();
  };

  constructor(
    private readonly call: StreamCall<Res>,
    private readonly o: Omit<ServeStreamOptions<Res, unknown>, "auth" | "start">,
  ) {
    call.on("cancelled", this.onCancel);
    call.on("close", this.onCallClose);
    // The error a handler emits ends the call (gRPC turns it into the status): we are done too.
    call.on("error", this.onCallClose);
    if (call.cancelled) this.close("cancelled by the client");
  }

  /** Cancelled, ended or failed: nothing more is sent, every cleanup has run. */
  get closed(): boolean {
    return this.phase === "closed";
  }

  /** Where the stream is; for tests and logs. */
  get state(): Phase {
    return this.phase;
  }

  /** Messages waiting for the client to drain. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Runs `fn` when the stream closes — or now, when it has closed already (a
   * cancel that came while the caller was still setting up): this is what makes a
   * cancel at any stage leave nothing registered.
   */
  onClose(fn: () => void): void {
    if (this.closed) {
      this.runCleanup(fn);
      return;
    }
    this.cleanups.push(fn);
  }

  /**
   * Sends a message, or queues it while the client is slow. `written` runs once
   * gRPC has handed it on towards the client (HTTP/2 flow control), not before;
   * never when the stream closed first. False when the stream is closed.
   */
  send(m: Res, written?: () => void): boolean {
    if (this.closed) return false;
    if (!this.blocked && this.queue.length === 0) {
      this.write({ m, size: 0, written });
      return true;
    }
    const size = (this.o.sizeOf ?? roughSize)(m);
    if (this.o.latestOnly) {
      this.queue.length = 0;
      this.queuedBytes = 0;
    }
    this.queue.push({ m, size, written });
    this.queuedBytes += size;
    const max = this.o.maxQueued ?? STREAM_MAX_QUEUED;
    const maxBytes = this.o.maxQueuedBytes ?? STREAM_MAX_QUEUED_BYTES;
    if (this.queue.length > max || this.queuedBytes > maxBytes) {
      const what = this.queue.length > max ? `${max} messages` : `${maxBytes} bytes`;
      this.fail(new GrpcError(grpc.status.RESOURCE_EXHAUSTED, `the client reads too slowly: more than ${what} were waiting for it, so the stream was ended; start it again`));
      return false;
    }
    return true;
  }

  /**
   * Resolves once nothing waits for the client (or the stream closed): a producer
   * with much to send (a history) sends it piece by piece rather than all at once.
   * A client that reads nothing for `maxWaitMs` has its stream ended, as one that
   * falls too far behind has.
   */
  whenRoom(maxWaitMs: number): Promise<void> {
    const room = (): boolean => this.closed || (!this.blocked && this.queue.length === 0);
    if (room()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (room()) {
          clearTimeout(timer);
          this.roomWaiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeoutClamped(() => {
        this.roomWaiters.delete(check);
        this.fail(new GrpcError(grpc.status.RESOURCE_EXHAUSTED, `the client read nothing for ${Math.round(maxWaitMs / 1000)}s, so the stream was ended; start it again`));
        resolve();
      }, maxWaitMs);
      this.roomWaiters.add(check);
    });
  }

  /** Ends the call with OK once what is queued is handed to gRPC. */
  end(): void {
    if (this.closed) return;
    // Bounded (see send): gRPC buffers the rest and sends it before the status.
    for (const q of this.queue.splice(0)) this.call.write(q.m, this.callback(q));
    this.close("ended");
    this.call.end();
  }

  /** Ends the call with the error's status (internal errors are logged, not shown). */
  fail(err: unknown): void {
    if (this.closed) return;
    const s = toStatus(err);
    if (s.internal) this.o.log.error({ err, method: this.o.method }, "stream failed");
    else this.o.log.debug({ method: this.o.method, code: s.code, details: s.details }, "stream ended with an error");
    this.close(s.details);
    this.call.emit("error", Object.assign(new Error(s.details), { code: s.code, details: s.details }));
  }

  /** @internal serveStream moves the phase on. */
  advance(to: "starting" | "streaming"): void {
    if (!this.closed) this.phase = to;
  }

  private write(q: Queued<Res>): void {
    if (!this.call.write(q.m, this.callback(q))) {
      this.blocked = true;
      this.call.once("drain", this.onDrain);
    }
  }

  private callback(q: Queued<Res>): ((err?: Error | null) => void) | undefined {
    const written = q.written;
    if (!written) return undefined;
    return (err) => {
      if (!err && !this.closed) written();
    };
  }

  private flush(): void {
    while (!this.closed && !this.blocked && this.queue.length) {
      const q = this.queue.shift()!;
      this.queuedBytes -= q.size;
      this.write(q);
    }
  }

  private close(why: string): void {
    if (this.closed) return;
    const was = this.phase;
    this.phase = "closed";
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.call.removeListener("cancelled", this.onCancel);
    this.call.removeListener("close", this.onCallClose);
    this.call.removeListener("error", this.onCallClose);
    this.call.removeListener("drain", this.onDrain);
    for (const fn of this.cleanups.splice(0).reverse()) this.runCleanup(fn);
    for (const w of [...this.roomWaiters]) w();
    this.o.log.debug({ method: this.o.method, was, why }, "stream closed");
  }

  private runCleanup(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // One failing cleanup must not leave the others registered.
      this.o.log.error({ err, method: this.o.method }, "stream cleanup failed");
    }
  }
}

/** Serves one server-streaming call: auth, then start, with cleanup on every path. */
export function serveStream<Res, Who>(call: StreamCall<Res>, o: ServeStreamOptions<Res, Who>): ServerStream<Res> {
  const s = new ServerStream<Res>(call, o);
  void (async () => {
    try {
      const who = await o.auth();
      if (s.closed) return; // cancelled while the token was checked: nothing was started
      endOnRevoke(s, revokedSignal(who));
      endOnExpiry(s, who);
      if (s.closed) return; // revoked (or expired) while it was checked
      s.advance("starting");
      await o.start(s, who);
      s.advance("streaming");
    } catch (err) {
      s.fail(err);
    }
  })();
  return s;
}

/** The principal's revocation signal, when it has one (a token's principal does). */
function revokedSignal(who: unknown): AbortSignal | undefined {
  const r = typeof who === "object" && who !== null ? (who as { revoked?: unknown }).revoked : undefined;
  return r instanceof AbortSignal ? r : undefined;
}

/** Ends the stream when the caller's token is revoked (now, if it already was). */
function endOnRevoke<Res>(s: ServerStream<Res>, revoked: AbortSignal | undefined): void {
  if (!revoked) return;
  const end = (): void => s.fail(new GrpcError(grpc.status.UNAUTHENTICATED, "the token this stream was opened with was revoked"));
  if (revoked.aborted) return end();
  revoked.addEventListener("abort", end, { once: true });
  s.onClose(() => revoked.removeEventListener("abort", end));
}

/** Ends the stream when the caller's token expires: `events -f` opened with a 1 h token does not outlive it. */
function endOnExpiry<Res>(s: ServerStream<Res>, who: unknown): void {
  const left = typeof who === "object" && who !== null ? (who as { expiresInMs?: unknown }).expiresInMs : undefined;
  if (typeof left !== "number") return;
  const end = (): void => s.fail(new GrpcError(grpc.status.UNAUTHENTICATED, "the token this stream was opened with expired"));
  if (left <= 0) return end();
  const timer = setTimeoutClamped(end, left);
  s.onClose(() => clearTimeout(timer));
}

/**
 * Turns at something costly a stream does (holding a history to send): at most n at
 * once, the others wait in order; a waiting stream that closes gives up its place.
 */
export class StreamSlots {
  private free: number;
  private readonly waiting: ((release: (() => void) | undefined) => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  /** The release, once a slot is this stream's; undefined when the stream closed first. */
  take(s: { readonly closed: boolean; onClose(fn: () => void): void }): Promise<(() => void) | undefined> {
    if (s.closed) return Promise.resolve(undefined);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((res) => {
      this.waiting.push(res);
      s.onClose(() => {
        const i = this.waiting.indexOf(res);
        if (i >= 0) this.waiting.splice(i, 1);
        res(undefined);
      });
    });
  }
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next(this.releaser());
      else this.free++;
    };
  }
}
