/**
 * Calls the operator API's own handlers in-process, as a gRPC call from the
 * console's user would reach them: the same authentication, role check,
 * validation, audit and stream machinery (server-stream.ts), one implementation
 * of each operation. Only the transport differs: a synthetic call object carrying
 * the user's token as a bearer header and the browser's address as the peer.
 */
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";

export interface Caller {
  token: string;
  /** What the audit log records as the peer: `console:<browser address>`. */
  peer: string;
}

/** A gRPC status that ended a call, for the HTTP layer to map. */
export class CallError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
    this.name = "CallError";
  }
}

function metadataOf(who: Caller): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${who.token}`);
  return md;
}

function toCallError(err: unknown): CallError {
  if (err instanceof CallError) return err;
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const code = typeof e.code === "number" ? (e.code as grpc.status) : grpc.status.UNKNOWN;
  return new CallError(code, typeof e.details === "string" ? e.details : String(e.message ?? "error"));
}

export function callUnary<Req, Res>(h: grpc.handleUnaryCall<Req, Res>, request: Req, who: Caller): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const call = Object.assign(new EventEmitter(), {
      request,
      metadata: metadataOf(who),
      cancelled: false,
      getPeer: () => who.peer,
      getDeadline: () => Infinity,
      sendMetadata: () => undefined,
    });
    h(call as unknown as grpc.ServerUnaryCall<Req, Res>, (err, value) => {
      if (err) reject(toCallError(err));
      else resolve(value as Res);
    });
  });
}

export interface StreamSink<Res> {
  /** A message; false: the client is slow, wait for drain() before more. */
  data(m: Res): boolean;
  /** The stream ended: cleanly (no error) or with a status. */
  end(err?: CallError): void;
}

export interface OpenStream {
  /** The browser went away: the handler unregisters everything it set up. */
  cancel(): void;
  /** The browser's socket took what was waiting. */
  drain(): void;
}

class StreamCallShim<Req, Res> extends EventEmitter {
  cancelled = false;
  private ended = false;
  readonly metadata: grpc.Metadata;

  constructor(
    readonly request: Req,
    who: Caller,
    private readonly sink: StreamSink<Res>,
    private readonly peer: string,
  ) {
    super();
    this.metadata = metadataOf(who);
  }

  getPeer(): string {
    return this.peer;
  }

  write(m: Res, cb?: (err?: Error | null) => void): boolean {
    if (this.ended) return true;
    const ok = this.sink.data(m);
    cb?.(null);
    return ok;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.end();
  }

  // server-stream.ts ends a call with a status by emitting "error", as grpc-js's own call takes it.
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "error") {
      if (!this.ended) {
        this.ended = true;
        this.sink.end(toCallError(args[0]));
      }
      return true;
    }
    return super.emit(event, ...args);
  }
}

export function openStream<Req, Res>(h: grpc.handleServerStreamingCall<Req, Res>, request: Req, who: Caller, sink: StreamSink<Res>): OpenStream {
  const call = new StreamCallShim<Req, Res>(request, who, sink, who.peer);
  h(call as unknown as grpc.ServerWritableStream<Req, Res>);
  return {
    cancel() {
      if (call.cancelled) return;
      call.cancelled = true;
      call.emit("cancelled");
    },
    drain() {
      call.emit("drain");
    },
  };
}
