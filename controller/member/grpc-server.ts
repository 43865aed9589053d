/**
 * The member's one TLS port: AgentService and OperatorService on a grpc-js
 * server with the connection limits every member keeps.
 */
import * as grpc from "@grpc/grpc-js";
import { formatHostPort, type HostPort } from "../../shared/addr.js";
import { KEEPALIVE_MS, KEEPALIVE_TIMEOUT_MS } from "../../shared/tls/pki.js";

/**
 * A connection with no call in flight is closed after this long. It bounds what
 * a peer that finished TLS but never calls (or stalls HTTP/2 with a zero window)
 * can hold; it cuts nothing in use: an agent's stream, a quiet `events -f` or
 * `logs -f` is an open call (kept alive by pings, KEEPALIVE_MS), and a client
 * whose connection was closed while idle reconnects on its next call.
 */
export const IDLE_CONNECTION_MS = 30_000;

/** The controller's --listen address cannot be bound: taken (another controller?) or not ours. */
export class ListenError extends Error {
  constructor(
    readonly addr: string,
    cause: Error,
  ) {
    // grpc-js wraps the socket error: "No address added out of total 1 resolved errors: [listen EADDRINUSE: …]".
    const inUse = /EADDRINUSE/.test(cause.message);
    const notOurs = /EADDRNOTAVAIL/.test(cause.message);
    super(
      inUse
        ? `${addr} is already in use (another controller, or \`berth dev\`, running?)`
        : notOurs
          ? `${addr} is not an address of this machine`
          : `cannot listen on ${addr}: ${cause.message}`,
      { cause },
    );
    this.name = "ListenError";
  }
}

export interface GrpcServerOptions {
  /** Largest message accepted from a client. @default 1 MiB */
  maxMessageBytes?: number;
  /** @default IDLE_CONNECTION_MS */
  idleConnectionMs?: number;
}

export function newGrpcServer(o: GrpcServerOptions, interceptors: grpc.ServerInterceptor[]): grpc.Server {
  return new grpc.Server({
    "grpc.max_receive_message_length": o.maxMessageBytes ?? 1024 * 1024,
    "grpc.max_send_message_length": 16 * 1024 * 1024,
    // Agents may ping to keep NAT mappings alive; don't punish them for it.
    "grpc.keepalive_permit_without_calls": 1,
    // And we ping quiet clients: an operator whose `exec -it` vanished without a
    // word (no RST) is noticed, its call cancelled, its session ended on the host.
    "grpc.keepalive_time_ms": KEEPALIVE_MS,
    "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
    "grpc.max_connection_idle_ms": o.idleConnectionMs ?? IDLE_CONNECTION_MS,
    // Channelz (introspection berth never serves) keeps a socket record, a trace and
    // call counters per connection: ~20 KB of each agent's ~100 KB on a plain grpc-js
    // server with mutual TLS (bench/README.md, memory per agent).
    "grpc.enable_channelz": 0,
    interceptors,
  });
}

/** Binds; the address actually bound (port 0 → the chosen port). Rejects with ListenError. */
export function bindGrpcServer(server: grpc.Server, listen: HostPort, creds: grpc.ServerCredentials): Promise<HostPort> {
  return new Promise<HostPort>((resolve, reject) =>
    server.bindAsync(formatHostPort(listen), creds, (err, port) => (err ? reject(new ListenError(formatHostPort(listen), err)) : resolve({ host: listen.host, port }))),
  );
}

/** Lets calls end for up to 2 s, then cuts what is left. */
export function shutdownGrpcServer(server: grpc.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2000);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
