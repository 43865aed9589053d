/**
 * Calls the operator API's own handlers in-process, as a gRPC call from the
 * console's user would reach them: the same authentication, role check,
 * validation, audit and stream machinery (server-stream.ts), one implementation
 * of each operation. Only the transport differs: a synthetic call object carrying
 * the user's token as a bearer header and the browser's address as the peer.
 *
 * Every request and response still goes through the method's own protobuf
 * codec, encoded and decoded as on the wire: a handler gets its request with
 * defaults filled in (as from any gRPC client), and the page gets exactly the
 * `__Output` shapes generated from proto/ (every field present, int64 as
 * numbers), which ui/src/types.ts names instead of restating them.
 */
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import type { OperatorServiceDefinition, OperatorServiceHandlers } from "../../shared/gen/berth/v1/OperatorService.js";
import { packageDefinition } from "../../shared/proto.js";

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

type Def = OperatorServiceDefinition;
/** A type's own keys, without the index signature grpc-js's service types extend. */
type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };
type Name = KnownKeys<Def> & KnownKeys<OperatorServiceHandlers> & string;
/** What a client sends for method K. */
export type RequestOf<K extends Name> = Def[K] extends MethodDefinition<infer Q, infer _R, infer _QO, infer _RO> ? Q : never;
/** What a client receives from method K: the generated `__Output` type. */
export type ResponseOf<K extends Name> = Def[K] extends MethodDefinition<infer _Q, infer _R, infer _QO, infer RO> ? RO : never;
type H = Required<OperatorServiceHandlers>;
type UnaryName = { [K in Name]: H[K] extends grpc.handleUnaryCall<infer _Q, infer _R> ? K : never }[Name];
type ServerStreamName = { [K in Name]: H[K] extends grpc.handleServerStreamingCall<infer _Q, infer _R> ? K : never }[Name];

let methods: Record<string, grpc.MethodDefinition<object, object>> | undefined;

/** Method `name`'s codec, from the same descriptor the gRPC server serves. */
function codec(name: string): grpc.MethodDefinition<object, object> {
  methods ??= packageDefinition()["berth.v1.OperatorService"] as Record<string, grpc.MethodDefinition<object, object>>;
  const m = methods[name];
  if (!m) throw new Error(`berth.v1.OperatorService has no method ${name}`);
  return m;
}

/** `message` as the other end of a call would read it: encoded and decoded. */
function overWire(serialize: (m: object) => Buffer, deserialize: (b: Buffer) => object, message: object): object {
  return deserialize(serialize(message));
}

/** Operator API handlers reached in-process, each message through the method's codec. */
export class ConsoleBridge {
  constructor(private readonly handlers: Partial<OperatorServiceHandlers>) {}

  private handler(name: Name): (...args: never[]) => void {
    const h = this.handlers[name];
    if (!h) throw new Error(`the console has no handler for ${name}`);
    return h as (...args: never[]) => void;
  }

  unary<K extends UnaryName>(name: K, request: RequestOf<K>, who: Caller): Promise<ResponseOf<K>> {
    const m = codec(name);
    const h = this.handler(name) as unknown as grpc.handleUnaryCall<object, object>;
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      const call = Object.assign(new EventEmitter(), {
        request: overWire(m.requestSerialize, m.requestDeserialize, request as object),
        metadata: metadataOf(who),
        cancelled: false,
        getPeer: () => who.peer,
        getDeadline: () => Infinity,
        sendMetadata: () => undefined,
      });
      h(call as unknown as grpc.ServerUnaryCall<object, object>, (err, value) => {
        if (err) return reject(toCallError(err));
        try {
          resolve(overWire(m.responseSerialize, m.responseDeserialize, value ?? {}) as ResponseOf<K>);
        } catch (e) {
          // A handler's answer its own method cannot encode: what a gRPC client would get as INTERNAL.
          reject(new CallError(grpc.status.INTERNAL, `encoding ${name}'s response: ${(e as Error).message}`));
        }
      });
    });
  }

  stream<K extends ServerStreamName>(name: K, request: RequestOf<K>, who: Caller, sink: StreamSink<ResponseOf<K>>): OpenStream {
    const m = codec(name);
    const h = this.handler(name) as unknown as grpc.handleServerStreamingCall<object, object>;
    const wired: StreamSink<object> = {
      data: (msg) => sink.data(overWire(m.responseSerialize, m.responseDeserialize, msg) as ResponseOf<K>),
      end: (err) => sink.end(err),
    };
    const call = new StreamCallShim<object, object>(overWire(m.requestSerialize, m.requestDeserialize, request as object), who, wired, who.peer);
    h(call as unknown as grpc.ServerWritableStream<object, object>);
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
