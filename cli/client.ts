/**
 * The operator API client: one call helper that turns gRPC failures into
 * CliErrors, and tries the members of a controller group in turn.
 *
 * Every member serves operators (DESIGN.md, "The control plane"), so a call goes
 * to whichever answers: the one that answered last in this process first, then
 * the others in the order given, each one's connection started STAGGER_MS after the
 * one before it if that has not come up (readyMembers). What grpc-js lets us know decides what may move
 * to another member:
 * - A member whose channel does not come up (refused, TLS failure: the channel
 *   reports TRANSIENT_FAILURE; or no answer within CONNECT_TIMEOUT_MS) was never
 *   sent the call: any call, mutations included, is safe to send elsewhere. So
 *   each call first waits for its member's channel to be READY.
 * - A call sent on a READY channel whose connection is lost (isConnectionLost)
 *   may or may not have reached the server: only reads (READS) are sent again
 *   to another member; a mutation (apply, place, restart…) is reported, never
 *   repeated behind the operator's back.
 */
import * as grpc from "@grpc/grpc-js";
import { loadOperatorProtos } from "../shared/proto.js";
import { CLIENT_KEEPALIVE_MS, CLIENT_KEEPALIVE_TIMEOUT_MS, channelOptions, grpcClientCredentials } from "../shared/tls/client-credentials.js";
import type { OperatorServiceClient } from "../shared/gen/berth/v1/OperatorService.js";
import { parseMemberList, STORE_UNAVAILABLE_PREFIX, WRITE_NOT_SENT } from "../shared/members.js";
import { CliError, EXIT } from "./errors.js";
import type { ClientConfig } from "./config.js";

/** How long a member may take to accept a connection (TCP and TLS) before the next is tried. @default 5000 */
export const CONNECT_TIMEOUT_MS = 5000;

/** A channel whose connection failed tries again at most this long after. @default 1000 */
export const CHANNEL_RECONNECT_MAX_MS = 1000;

/** Calls that change nothing: sent again to another member when the connection drops under them. */
export const READS = new Set(["ListHosts", "GetHost", "ListEvents", "WhoAmI", "HasArtifact", "Plan", "ListServices", "GetService", "ListAudit", "GetRollout"]);

export interface Api {
  /** The client of the member that answered last (the first member before any answer). */
  readonly client: OperatorServiceClient;
  metadata: grpc.Metadata;
  cfg: ClientConfig;
  /** Every member, HOST:PORT, in the order given. */
  members: readonly string[];
  /** The member that answered last (the first member before any answer). */
  readonly member: string;
  clientFor(member: string): OperatorServiceClient;
  /** Members to try, the one that answered last first, then the others in order. */
  order(): string[];
  /** Remembers the member that answered, for the next call of this process. */
  answered(member: string): void;
  close(): void;
}

export function connect(cfg: ClientConfig): Api {
  let members: string[];
  try {
    members = parseMemberList(cfg.addr);
  } catch (e) {
    throw new CliError(`the controller address: ${(e as Error).message}`, EXIT.usage);
  }
  const OperatorService = loadOperatorProtos().berth.v1.OperatorService;
  const creds = grpcClientCredentials(cfg.ca);
  const clients = new Map<string, OperatorServiceClient>();
  let current = 0;
  const clientFor = (member: string): OperatorServiceClient => {
    let c = clients.get(member);
    if (!c) {
      c = new OperatorService(member, creds, {
        ...channelOptions(),
        // A controller that vanishes without a word (its host died, a link cut) ends a
        // long call within ~40 s instead of never: `exec -it`, `logs -f`, `-w` watches.
        "grpc.keepalive_time_ms": CLIENT_KEEPALIVE_MS,
        "grpc.keepalive_timeout_ms": CLIENT_KEEPALIVE_TIMEOUT_MS,
        // grpc-js backs off reconnects up to 120 s by default (1 s × 1.6 per failure): a
        // watch that lost its controller for a minute would stay away ~10 s after it is
        // back, while the restarted controller drains. Capped at CHANNEL_RECONNECT_MAX_MS.
        "grpc.initial_reconnect_backoff_ms": CHANNEL_RECONNECT_MAX_MS,
        "grpc.max_reconnect_backoff_ms": CHANNEL_RECONNECT_MAX_MS,
      });
      clients.set(member, c);
    }
    return c;
  };
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${cfg.token}`);
  return {
    get client() {
      return clientFor(members[current]!);
    },
    get member() {
      return members[current]!;
    },
    metadata,
    cfg,
    members,
    clientFor,
    order: () => members.map((_, i) => members[(current + i) % members.length]!),
    answered: (member) => {
      const i = members.indexOf(member);
      if (i >= 0) current = i;
    },
    close: () => {
      for (const c of clients.values()) c.close();
    },
  };
}

/**
 * Waits until the member's channel is READY: true, or why not — the channel
 * failed (its last error, read from a call that fails at once without being
 * sent), or it did not come up within timeoutMs.
 */
export async function reachable(api: Api, member: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<true | grpc.ServiceError> {
  const client = api.clientFor(member);
  const ch = client.getChannel();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = ch.getConnectivityState(true);
    if (s === grpc.connectivityState.READY) return true;
    if (s === grpc.connectivityState.TRANSIENT_FAILURE || s === grpc.connectivityState.SHUTDOWN) {
      // Not wait-for-ready: in TRANSIENT_FAILURE this fails at once, never sent,
      // and says why (a refused connection, a certificate the CA does not sign).
      const why = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.WhoAmI({}, api.metadata, { deadline: Date.now() + 2000 }, (err) => resolve(err)),
      );
      return why && why.code === grpc.status.UNAVAILABLE ? why : true;
    }
    const changed = await new Promise<boolean>((resolve) => ch.watchConnectivityState(s, deadline, (err) => resolve(!err)));
    if (!changed) return unavailable(`no answer within ${Math.round(timeoutMs / 1000)}s`);
  }
}

/** How long one member's connection may take before the next member's is started beside it (Happy Eyeballs, RFC 8305: 250 ms). */
export const STAGGER_MS = 250;

/**
 * The members to call, in `members`' order of preference, each as soon as its channel
 * is READY (true) or has failed (why): the next member's connection is started STAGGER_MS
 * after the last one's if none has come up by then, or at once when one fails — Happy
 * Eyeballs (RFC 8305) over the group. A member that accepts TCP and never finishes TLS (a
 * frozen process, a hung VM) costs STAGGER_MS rather than CONNECT_TIMEOUT_MS, for every
 * command, for as long as it is frozen. Nothing is sent on a connection by this: the caller
 * sends its call to the first member yielded READY, and to the next one only where a call
 * may move (client.ts). Stopping early leaves the other connections to api.close().
 */
export async function* readyMembers(
  api: Api,
  members: readonly string[] = api.order(),
  timeoutMs = CONNECT_TIMEOUT_MS,
  o: { staggerMs?: number; probe?: typeof reachable } = {},
): AsyncGenerator<{ member: string; up: true | grpc.ServiceError }> {
  const staggerMs = o.staggerMs ?? STAGGER_MS;
  const probe = o.probe ?? reachable;
  const pending = new Map<number, Promise<{ i: number; up: true | grpc.ServiceError }>>();
  let next = 0;
  const start = (): void => {
    if (next >= members.length) return;
    const i = next++;
    // Never a rejection left unhandled: a probe may end after the caller stopped (a channel shut by api.close()).
    pending.set(
      i,
      probe(api, members[i]!, timeoutMs).then(
        (up) => ({ i, up }),
        (err: unknown) => ({ i, up: unavailable(err instanceof Error ? err.message : String(err)) }),
      ),
    );
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    start();
    while (pending.size > 0) {
      const stagger = next < members.length ? new Promise<"stagger">((r) => (timer = setTimeout(() => r("stagger"), staggerMs))) : undefined;
      const won = await Promise.race([...pending.values(), ...(stagger ? [stagger] : [])]);
      clearTimeout(timer);
      if (won === "stagger") {
        start();
        continue;
      }
      pending.delete(won.i);
      // A member that failed: the next one at once (nothing to wait for), as RFC 8305 does.
      if (won.up !== true) start();
      yield { member: members[won.i]!, up: won.up };
      // Asked for another (the call moved on): one more connection, if none is under way.
      if (pending.size === 0) start();
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A call that ended because its connection went, not because the server said
 * no: UNAVAILABLE; CANCELLED that we never asked for (what grpc-js reports when
 * the server cancels, e.g. a process shutting down its server, or the peer
 * resets the stream); INTERNAL from an RST_STREAM without a status (a killed process).
 */
export function isConnectionLost(err: { code?: number; details?: string } | undefined): boolean {
  if (!err) return true;
  return err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.CANCELLED || (err.code === grpc.status.INTERNAL && /RST_STREAM/.test(err.details ?? ""));
}

const STORE_HINT = "`berth controllers` shows which members reach the store";

export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; details?: unknown } | undefined;
  return e?.code === grpc.status.UNAVAILABLE && typeof e.details === "string" && e.details.startsWith(STORE_UNAVAILABLE_PREFIX);
}

function unavailable(details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() });
}

/** The error when no member could be reached: the one member's own, or one naming them all. */
export function noMemberError(api: Api, failures: { member: string; err: unknown }[]): CliError {
  const only = failures.length === 1 ? failures[0] : undefined;
  if (only) return toCliError(only.err, only.member);
  // A member that answered, saying it cannot reach its store, says more than "unreachable".
  const store = failures.find((f) => isStoreUnavailable(f.err));
  if (store) return toCliError(store.err, store.member);
  // A TLS failure says more than "unreachable": show it first.
  const tls = failures.find((f) => /certificate|handshake|ssl|tls/i.test(String((f.err as { details?: unknown }).details ?? "")));
  if (tls) return toCliError(tls.err, tls.member);
  return new CliError(`cannot reach any member of the controller: ${api.members.join(", ")}`, EXIT.unavailable, "are they running? check --addr / BERTH_ADDR");
}

export function toCliError(err: unknown, addr: string): CliError {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const details = typeof e.details === "string" ? e.details : typeof e.message === "string" ? e.message : String(err);
  switch (e.code) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      // A TLS server that offers no HTTP/2 (ALPN): another port of this machine, such as the web console's.
      if (/no application protocol/i.test(details)) {
        return new CliError(`${addr} speaks TLS but not gRPC: it is not a controller's API port`, EXIT.unavailable, "check --addr / BERTH_ADDR: the controller's web console and metrics have ports of their own (7420 is the API's default)");
      }
      // A plain TCP server (a service's port, the metrics port) answers the TLS hello with something else.
      if (/wrong version number|packet length too long|socket disconnected before secure TLS|unknown protocol/i.test(details)) {
        return new CliError(`${addr} does not speak TLS: it is not a controller's API port`, EXIT.unavailable, "check --addr / BERTH_ADDR: the controller's API is 7420 unless --listen says otherwise; its metrics port serves plain HTTP");
      }
      if (/certificate|handshake|ssl|tls/i.test(details)) {
        return new CliError(`TLS with the controller at ${addr} failed: ${details}`, EXIT.unavailable, "check that BERTH_CA is this controller's ca.crt");
      }
      // The member's own answer about a host (the member holding its agent stream was lost): shown as sent.
      if (e.code === grpc.status.UNAVAILABLE && /^host \S+: /.test(details)) return new CliError(details, EXIT.unavailable);
      if (e.code === grpc.status.UNAVAILABLE && isStoreUnavailable(e)) return new CliError(`${addr}: ${details}`, EXIT.unavailable, STORE_HINT);
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
  if (/^no secret /.test(details)) return "`berth secret list` lists the secrets";
  if (/^no host |^hostname "[^"]*" names |matches more than one host|too short to name a host/.test(details)) return "`berth hosts` lists the hosts";
  return undefined;
}

/**
 * Calls a unary method with the bearer token and a deadline, on the first member
 * that answers (see the top of this file for what moves to another member).
 * `fn` is typed by the generated client's last overload, `(argument, callback)`,
 * which is the one TypeScript infers from; it is invoked with metadata and
 * options as well, on the member's own client (the method is the same function
 * on every client of the service).
 */
export async function call<Req, Res>(
  api: Api,
  fn: (req: Req, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall,
  req: Req,
  timeoutMs = 15_000,
): Promise<Res> {
  const full = fn as unknown as ((req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall) & { path?: string };
  const method = full.path?.split("/").pop() ?? "";
  const failures: { member: string; err: unknown }[] = [];
  for await (const { member, up } of readyMembers(api, api.order(), Math.min(CONNECT_TIMEOUT_MS, timeoutMs))) {
    if (up !== true) {
      failures.push({ member, err: up });
      continue;
    }
    try {
      const res = await new Promise<Res>((resolve, reject) => {
        full.call(api.clientFor(member), req, api.metadata, { deadline: Date.now() + timeoutMs }, (err, r) => (err || r === undefined ? reject(err ?? new Error("empty response")) : resolve(r)));
      });
      api.answered(member);
      return res;
    } catch (err) {
      // Refused before anything was written (the member cannot reach its store): another member may.
      if (isStoreUnavailable(err) && String((err as grpc.ServiceError).details).endsWith(WRITE_NOT_SENT)) {
        failures.push({ member, err });
        continue;
      }
      // Sent, and the connection dropped under it: a read is asked again elsewhere; a mutation may have happened.
      if (isConnectionLost(err as grpc.ServiceError)) {
        if (READS.has(method)) {
          failures.push({ member, err });
          continue;
        }
        // The member answered: it could not reach the store, and a write that timed out there may yet be applied.
        if (isStoreUnavailable(err)) {
          throw new CliError(`${member}: ${(err as grpc.ServiceError).details}; ${method || "the call"} may or may not have taken effect`, EXIT.unavailable, `look before you repeat it (\`berth status\`, \`berth events\`); ${STORE_HINT}`);
        }
        throw new CliError(
          `the connection to the controller at ${member} was lost during ${method || "the call"}: it may or may not have taken effect`,
          EXIT.unavailable,
          "look before you repeat it: `berth status`, `berth events`",
        );
      }
      throw toCliError(err, member);
    }
  }
  throw noMemberError(api, failures);
}
