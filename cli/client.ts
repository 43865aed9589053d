/** The operator API client: one call helper that turns gRPC failures into CliErrors. */
import * as grpc from "@grpc/grpc-js";
import { loadProtos } from "../shared/proto.js";
import { KEEPALIVE_MS, KEEPALIVE_TIMEOUT_MS, channelOptions, grpcClientCredentials } from "../shared/tls/client-credentials.js";
import type { OperatorServiceClient } from "../shared/gen/berth/v1/OperatorService.js";
import { parseHostPort, formatHostPort } from "../shared/addr.js";
import { CliError, EXIT } from "./errors.js";
import type { ClientConfig } from "./config.js";

export interface Api {
  client: OperatorServiceClient;
  metadata: grpc.Metadata;
  cfg: ClientConfig;
  close(): void;
}

export function connect(cfg: ClientConfig): Api {
  let target: string;
  try {
    target = formatHostPort(parseHostPort(cfg.addr));
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.usage);
  }
  const protos = loadProtos();
  const client = new protos.operator.berth.v1.OperatorService(target, grpcClientCredentials(cfg.ca), {
    ...channelOptions(),
    // A controller that vanishes without a word (its host died, a link cut) ends a
    // long call within ~40 s instead of never: `exec -it`, `logs -f`, `-w` watches.
    "grpc.keepalive_time_ms": KEEPALIVE_MS,
    "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
  });
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${cfg.token}`);
  return { client, metadata, cfg, close: () => client.close() };
}

export function toCliError(err: unknown, addr: string): CliError {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const details = typeof e.details === "string" ? e.details : typeof e.message === "string" ? e.message : String(err);
  switch (e.code) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      if (/certificate|handshake|ssl|tls/i.test(details)) {
        return new CliError(`TLS with the controller at ${addr} failed: ${details}`, EXIT.unavailable, "check that BERTH_CA is this controller's ca.crt");
      }
      return new CliError(`cannot reach the controller at ${addr}`, EXIT.unavailable, "is it running? check --addr / BERTH_ADDR");
    case grpc.status.UNAUTHENTICATED:
      return new CliError(`the controller refused the token: ${details}`, EXIT.denied, "check BERTH_TOKEN; `berth token create` makes a new one");
    case grpc.status.PERMISSION_DENIED:
      return new CliError(details, EXIT.denied, "ask an admin for a token with that role");
    case grpc.status.NOT_FOUND:
      return new CliError(details, EXIT.notFound, notFoundHint(details));
    case grpc.status.INVALID_ARGUMENT:
      return new CliError(details, EXIT.usage);
    default:
      return new CliError(details, EXIT.failed);
  }
}

/**
 * The command that lists what a NOT_FOUND was about, read from the controller's
 * details (they name their subject first: `no service "x"`, `no host "h"`, …).
 * Something unrecognised gets no hint: a wrong one sends people the wrong way.
 */
export function notFoundHint(details: string): string | undefined {
  const instance = /^no instance "[^"]*" of (\S+)/.exec(details);
  if (instance) return `\`berth status ${instance[1]}\` lists its instances`;
  if (/^no service |^service \S+ was deleted/.test(details)) return "`berth services` lists the services";
  if (/^no host |^hostname "[^"]*" names |matches more than one host|too short to name a host/.test(details)) return "`berth hosts` lists the hosts";
  return undefined;
}

/**
 * Calls a unary method with the bearer token and a deadline. `fn` is typed by the
 * generated client's last overload, `(argument, callback)`, which is the one
 * TypeScript infers from; it is invoked with metadata and options as well.
 */
export function call<Req, Res>(
  api: Api,
  fn: (req: Req, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall,
  req: Req,
  timeoutMs = 15_000,
): Promise<Res> {
  const full = fn as unknown as (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;
  return new Promise((resolve, reject) => {
    full.call(api.client, req, api.metadata, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err || res === undefined) reject(toCliError(err ?? new Error("empty response"), api.cfg.addr));
      else resolve(res);
    });
  });
}
