/**
 * OperatorService: what the `berth` CLI calls. Every call carries a bearer token;
 * the role it needs is written beside each handler (DESIGN.md, "Security").
 */
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { Host } from "../../../shared/gen/berth/v1/Host.js";
import type { TokenInfo as TokenWire } from "../../../shared/gen/berth/v1/TokenInfo.js";
import type { Event } from "../../../shared/gen/berth/v1/Event.js";
import type { Usage__Output } from "../../../shared/gen/berth/v1/Usage.js";
import type { Logger } from "../../../shared/log/logger.js";
import { StoreUnavailableError, type Store } from "../../store/store.js";
import type { StoreHealthState } from "../../store/store-health.js";
import { WRITE_NOT_SENT } from "../../../shared/members.js";
import { AuthError, TokenNotFoundError, type Principal, type TokenInfo, type TokenService } from "../../auth/token-service.js";
import { isRole, roleAllows, ROLES, type Need } from "../../auth/tokens.js";
import { EVENT_PREFIX, matches, type EventLog, type EventRecord } from "../../events/event-log.js";
import { hostStatus, type HostRecord } from "../../hosts/host.js";
import { HostNotFoundError, type HostRegistry } from "../../hosts/registry.js";
import { GrpcError, serviceError, toStatus } from "./errors.js";
import { summarize, type AuditLog } from "../../audit/audit-log.js";
import { serveStream, STREAM_MAX_QUEUED, StreamSlots } from "./server-stream.js";

export interface FailoverView {
  paused: boolean;
  reason: string;
  since_ms: number;
}

export interface OperatorServiceDeps {
  /** Every mutating call (any call needing more than viewer) is recorded here. */
  audit?: AuditLog;
  failoverState?: () => FailoverView;
  resumeFailover?: (actor: string) => Promise<FailoverView>;
  /** The instance a host runs, for `berth hosts`. */
  serviceOf?: (hostId: string) => string;
  /** Copies replaced while this host was down that it may still run (InstanceRecord.leftOn), as "web-0 (epoch 4)". */
  leftOn?: (hostId: string) => string[];
  /** The group member holding a host's stream ("" when none does), for `berth hosts`. @default this controller, when it holds it */
  memberOf?: (hostId: string) => string;
  /** In a group, what the member holding a host's stream reported of it: its last heartbeat (wall time) and usage. */
  heardElsewhere?: (hostId: string) => { lastHeartbeatMs: number; usage: Usage__Output | null } | undefined;
  registry: HostRegistry;
  tokens: TokenService;
  events: EventLog;
  store: Store;
  log: Logger;
  now: () => number;
  /** The environment this controller serves (`--environment`); "" or absent: any. */
  environment?: string;
  /** In a group: whether this member reaches its store (member/store-monitor.ts); absent, it does. */
  storeState?: () => StoreHealthState;
}

const MAX_TTL_S = 10 * 365 * 86_400;

/** Who is calling: a valid bearer token, whatever its role. */
export async function authenticate(d: OperatorServiceDeps, md: grpc.Metadata): Promise<Principal> {
  const values = md.get("authorization");
  const header = typeof values[0] === "string" ? values[0] : "";
  const m = /^Bearer (\S+)$/.exec(header);
  if (!m) throw new AuthError("no bearer token: set BERTH_TOKEN or use the config file");
  return d.tokens.authenticate(m[1]!);
}

/** `need`: one role, or several of which any will do (WatchEndpoints: viewer or lb). */
export function requireRole(p: Principal, need: Need | readonly Need[]): Principal {
  const any: readonly Need[] = typeof need === "string" ? [need] : need;
  if (!any.some((n) => roleAllows(p.role, n))) {
    throw new GrpcError(grpc.status.PERMISSION_DENIED, `this needs the ${any.join(" or ")} role; the token has ${p.role}`);
  }
  return p;
}

export async function authorize(d: OperatorServiceDeps, md: grpc.Metadata, need: Need | readonly Need[]): Promise<Principal> {
  return requireRole(await authenticate(d, md), need);
}

function tokenToWire(t: TokenInfo): TokenWire {
  return {
    id: t.id,
    role: t.role,
    description: t.description,
    created_at_ms: t.createdAtMs,
    expires_at_ms: t.expiresAtMs,
    last_used_at_ms: t.lastUsedAtMs ?? 0,
    revoked_at_ms: t.revokedAtMs ?? 0,
    created_by: t.createdBy,
    revoked_by: t.revokedBy ?? "",
    uses_left: t.usesLeft ?? -1,
  };
}

export function hostToWire(d: OperatorServiceDeps, r: HostRecord): Host {
  const live = d.registry.live.get(r.id);
  const member = d.memberOf?.(r.id) ?? "";
  // A stream another member holds: its heartbeat and usage as that member last reported them.
  const far = live?.send ? undefined : d.heardElsewhere?.(r.id);
  return {
    id: r.id,
    status: hostStatus(r),
    cordoned: r.cordoned,
    address: r.advertiseAddr,
    labels: r.labels,
    facts: r.facts,
    usage: far ? far.usage : (live?.usage ?? null),
    last_heartbeat_ms: far ? far.lastHeartbeatMs : (live?.lastHeartbeatMs ?? 0),
    joined_at_ms: r.joinedAtMs,
    service: d.serviceOf?.(r.id) ?? "",
    // In a group the stream may be another member's.
    connected: live?.disconnect !== undefined || member !== "",
    status_since_ms: r.healthSinceMs,
    member,
    cert_expires_ms: r.certNotAfterMs ?? 0,
    cert_serial: r.certSerial,
    connected_cert_serial: live?.disconnect !== undefined ? (live.certSerial ?? "") : "",
    cert_unconfirmed: r.certUnconfirmed === true,
    // Only a host not ready can have any: its agent stops them before it counts as ready.
    may_still_run: r.health === "ready" ? [] : (d.leftOn?.(r.id) ?? []),
  };
}

/** History goes out this many events at a time, each piece once the client has read the one before. */
const HISTORY_PIECE = 256;
/** A client that reads nothing for this long has its stream ended (it holds the history read for it). */
const STALLED_READER_MS = 30_000;

/** How many `events -f` histories are read and sent at once; the others wait their turn (each holds one in memory). */
const HISTORY_SLOTS = 8;

const eventToWire = (e: EventRecord): Event => ({
  seq: e.seq,
  time_ms: e.timeMs,
  type: e.type,
  host: e.host,
  service: e.service,
  message: e.message,
  actor: e.actor,
});

/**
 * R, with none of the keys Res (the proto's message) lacks: protobufjs drops a field the
 * message does not have without a word, so a misspelt one would reach no client. An async
 * handler's object literal gets no excess-property check of its own, hence this.
 */
type Exactly<Res, R> = R & { [K in Exclude<keyof R, keyof Res>]: never };

/**
 * Runs a unary handler: authorise, act, map errors; internal errors are logged, not shown.
 * Res is the method's response type in the generated handler map the result is assigned to;
 * what `fn` returns is checked against it, field by field and for fields it does not have.
 */
export function unary<Req, Res, R extends Res = Res>(
  d: OperatorServiceDeps,
  need: Need,
  name: string,
  fn: (req: Req, who: Principal) => Promise<R & Exactly<NoInfer<Res>, R>>,
  /**
   * `readOnly`: it changes nothing, so only its refusals are audited (HasArtifact needs operator, yet only reads).
   * `auditedRead`: it changes nothing, but every call is audited all the same (ListAudit: who read the audit log).
   */
  opts: { readOnly?: boolean; auditedRead?: boolean } = {},
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let who: Principal | undefined;
    // Mutating calls are audited however they end, refusals included; so is
    // every caller nobody could identify (the audit log sums those per source).
    const audit = (code: number, error: string): void => {
      if (!d.audit || (who !== undefined && (need === "viewer" || (opts.readOnly === true && code === 0)))) return;
      void d.audit
        .append({ tokenId: who?.tokenId ?? "", role: who?.role ?? "", method: name, request: summarize(call.request), code, error, peer: call.getPeer() })
        .catch((err: unknown) => d.log.error({ err, method: name }, "writing the audit log failed"));
    };
    authenticate(d, call.metadata)
      .then((p) => {
        who = p; // known even when the role is too weak: refusals are attributed
        const allowed = requireRole(p, need);
        if (need !== "viewer" && opts.readOnly !== true && opts.auditedRead !== true) refuseWriteWithoutStore(d);
        return fn(call.request, allowed);
      })
      .then(
        (res) => {
          audit(0, "");
          callback(null, res);
        },
        (err: unknown) => {
          const s = toStatus(err);
          if (s.internal) d.log.error({ err, method: name }, "operator call failed");
          audit(s.code, s.details);
          callback(serviceError(err));
        },
      );
  };
}

/**
 * A change asked of a member that has found its store unreachable (for the store monitor's
 * while: member/store-monitor.ts) is refused at once, before the change is sent (the refusal's
 * audit entry is tried, as every refusal's is, and lands if etcd takes it): a write sent
 * to an etcd without quorum waits out its deadline and may still be applied when the quorum
 * returns, which leaves the operator a timeout and "may or may not have taken effect". This
 * answer says nothing was changed, and the CLI asks another member (one may reach the store).
 */
function refuseWriteWithoutStore(d: OperatorServiceDeps): void {
  const why = storeUnreachable(d);
  if (why) throw new StoreUnavailableError(`${why}; ${WRITE_NOT_SENT}`);
}

/** Why and since when this member cannot reach its store; "" when it can. */
function storeUnreachable(d: OperatorServiceDeps): string {
  const st = d.storeState?.();
  return !st || st.ok ? "" : `${st.error} (since ${new Date(st.sinceMs).toISOString()})`;
}

/** The host, token and event calls; services and artifacts are in service-handlers.ts. */
export type CoreHandlers = Pick<OperatorServiceHandlers, "WhoAmI" | "ListHosts" | "GetHost" | "Cordon" | "Uncordon" | "CreateToken" | "ListTokens" | "RevokeToken" | "ListEvents" | "WatchEvents" | "ListAudit">;

export function operatorServiceHandlers(d: OperatorServiceDeps): CoreHandlers {
  const historySlots = new StreamSlots(HISTORY_SLOTS);
  return {
    WhoAmI: unary(d, "viewer", "WhoAmI", async (_req, who) => ({ token_id: who.tokenId, role: who.role })),

    ListHosts: unary(d, "viewer", "ListHosts", async () => ({
      hosts: d.registry
        .all()
        .sort((a, b) => (a.facts?.hostname ?? "").localeCompare(b.facts?.hostname ?? "") || a.id.localeCompare(b.id))
        .map((r) => hostToWire(d, r)),
      now_ms: d.now(),
      failover: d.failoverState?.() ?? null,
      environment: d.environment ?? "",
      store_unreachable: storeUnreachable(d),
    })),

    GetHost: unary(d, "viewer", "GetHost", async (req: { id: string }) => hostToWire(d, d.registry.resolve(req.id))),

    Cordon: unary(d, "operator", "Cordon", async (req: { id: string }, who) => {
      const id = d.registry.resolve(req.id).id;
      const rec = await d.registry.update(id, (r) =>
        r.cordoned
          ? undefined
          : { rec: { ...r, cordoned: true }, event: { type: "host.cordoned", host: id, message: "cordoned: no new instances", actor: who.tokenId } },
      );
      d.log.info({ host: id, actor: who.tokenId }, "host cordoned");
      return hostToWire(d, rec);
    }),

    Uncordon: unary(d, "operator", "Uncordon", async (req: { id: string }, who) => {
      const id = d.registry.resolve(req.id).id;
      const rec = await d.registry.update(id, (r) =>
        !r.cordoned && !r.draining
          ? undefined
          : { rec: { ...r, cordoned: false, draining: false }, event: { type: "host.uncordoned", host: id, message: r.draining ? "uncordoned: drain cancelled" : "uncordoned", actor: who.tokenId } },
      );
      d.log.info({ host: id, actor: who.tokenId }, "host uncordoned");
      return hostToWire(d, rec);
    }),

    CreateToken: unary(d, "admin", "CreateToken", async (req: { role: string; ttl_seconds: number; uses: number; description: string }, who) => {
      if (!isRole(req.role)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `role: "${req.role.slice(0, 32)}" is not one of ${ROLES.join(", ")}`);
      if (req.ttl_seconds > MAX_TTL_S) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "ttl_seconds: at most 10 years");
      if (req.uses > 0 && req.role !== "agent") throw new GrpcError(grpc.status.INVALID_ARGUMENT, "uses: only agent (join) tokens count uses");
      if (req.description.length > 256) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "description: at most 256 characters");
      const { record, token } = await d.tokens.create({
        role: req.role,
        ttlMs: req.ttl_seconds > 0 ? req.ttl_seconds * 1000 : undefined,
        uses: req.uses,
        description: req.description,
        createdBy: who.tokenId,
      });
      await d.events.append({ type: "token.created", message: `${record.role} token ${record.id} created`, actor: who.tokenId });
      d.log.info({ token: record.id, role: record.role, actor: who.tokenId }, "token created");
      return { token, id: record.id, role: record.role, expires_at_ms: record.expiresAtMs, uses: record.usesLeft ?? 0 };
    }),

    ListTokens: unary(d, "admin", "ListTokens", async () => {
      const { tokens, unusable } = await d.tokens.list();
      return { tokens: tokens.map(tokenToWire), unusable: unusable.map((u) => `${u.key}: ${u.reason}`) };
    }, { readOnly: true }),

    RevokeToken: unary(d, "admin", "RevokeToken", async (req: { id: string }, who) => {
      if (!/^[0-9a-f]{10}$/.test(req.id)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `id: "${req.id.slice(0, 32)}" is not a token id (10 hex digits, as \`berth token list\` shows)`);
      let info: TokenInfo & { changed: boolean };
      try {
        info = await d.tokens.revoke(req.id, who.tokenId);
      } catch (err) {
        if (err instanceof TokenNotFoundError) throw new GrpcError(grpc.status.NOT_FOUND, `${err.message}: \`berth token list\` lists the tokens`);
        throw err;
      }
      if (info.changed) {
        await d.events.append({ type: "token.revoked", message: `${info.role} token ${info.id} revoked`, actor: who.tokenId });
        d.log.info({ token: info.id, role: info.role, actor: who.tokenId }, "token revoked");
      }
      return { ...tokenToWire(info), was_revoked: !info.changed };
    }),

    ListEvents: unary(d, "viewer", "ListEvents", async (req: { limit: number; host: string; service: string }) => {
      const limit = req.limit > 0 ? Math.min(req.limit, 10_000) : 100;
      const list = await d.events.list({ limit, host: await eventsHost(d, req.host), service: req.service });
      return { events: list.map(eventToWire) };
    }),

    ListAudit: unary(d, "admin", "ListAudit", async (req: { since_ms: number; limit: number }) => {
      if (!d.audit) return { entries: [] };
      const entries = await d.audit.list({ sinceMs: req.since_ms, limit: req.limit > 0 ? Math.min(req.limit, 100_000) : 1000 });
      return {
        entries: entries.map((e) => ({
          seq: e.seq,
          time_ms: e.timeMs,
          token_id: e.tokenId,
          role: e.role,
          method: e.method,
          request: e.request,
          code: e.code,
          error: e.error,
          peer: e.peer,
          count: e.count ?? 0,
          last_ms: e.lastMs ?? 0,
        })),
      };
    }, { auditedRead: true }),

    WatchEvents(call) {
      const req = { ...call.request };
      let lastSeq = req.after_seq;
      serveStream(call, {
        method: "WatchEvents",
        log: d.log,
        auth: () => authorize(d, call.metadata, "viewer"),
        // History goes out as the client reads it (below); what waits is bounded by the
        // default count and bytes, so a watcher that never reads cannot fill the heap.
        sizeOf: (e) => (e.message?.length ?? 0) + (e.type?.length ?? 0) + (e.host?.length ?? 0) + (e.service?.length ?? 0) + (e.actor?.length ?? 0) + 64,
        async start(s) {
          req.host = await eventsHost(d, req.host);
          const deliver = (e: EventRecord): void => {
            // History and the live watch overlap by design; the seq removes duplicates.
            if (e.seq <= lastSeq || !matches(e, req)) return;
            lastSeq = e.seq;
            s.send(eventToWire(e));
          };
          // Watch first, then read history: nothing falls between the two. Live
          // events wait in a buffer until the history is out, so order holds.
          let buffered: EventRecord[] | undefined = [];
          const rev = await d.store.revision();
          const watcher = await d.store.watch(
            EVENT_PREFIX,
            (ev) => {
              if (ev.type !== "put" || s.closed) return;
              const e = JSON.parse(ev.kv.value) as EventRecord;
              if (!buffered) return deliver(e);
              buffered.push(e);
              // Live events wait behind a history the client is slow to read: bounded like the queue.
              if (buffered.length > STREAM_MAX_QUEUED) s.fail(new GrpcError(grpc.status.RESOURCE_EXHAUSTED, `the client reads too slowly: more than ${STREAM_MAX_QUEUED} live events waited behind the history, so the stream was ended; start it again`));
            },
            { fromRevision: rev + 1 },
          );
          s.onClose(() => watcher.close());
          if (s.closed) return;
          // A history can be tens of MB (10 000 events of up to 4 KB): only a few are held at once.
          const release = await historySlots.take(s);
          if (!release) return;
          try {
            const history = await d.events.list({ limit: 10_000, host: req.host, service: req.service });
            for (const [i, e] of history.entries()) {
              deliver(e);
              if (i % HISTORY_PIECE === HISTORY_PIECE - 1) await s.whenRoom(STALLED_READER_MS);
              if (s.closed) return;
            }
          } finally {
            release();
          }
          const live = buffered;
          buffered = undefined;
          for (const e of live) deliver(e);
        },
      });
    },
  };
}

/**
 * The host id an events filter means: a known host by its id or a prefix of it, as every
 * host command takes one. A removed host keeps its events, and its whole id still finds
 * them; anything else is an unknown host, said so rather than answered with no events.
 */
async function eventsHost(d: Pick<OperatorServiceDeps, "registry" | "events">, query: string): Promise<string> {
  if (!query) return "";
  try {
    return d.registry.resolve(query).id;
  } catch (err) {
    if (!(err instanceof HostNotFoundError) || err.why !== "none") throw err;
    if ((await d.events.list({ limit: 1, host: query })).length > 0) return query;
    throw err;
  }
}
