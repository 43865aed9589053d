/**
 * The web console: an HTTPS server of its own (`--ui-addr`) with the controller's
 * certificate, serving the built page (dist/ui) and a small JSON + server-sent
 * events API. Every API call reaches the operator API's own handlers through
 * bridge.ts with the signed-in user's token: the role is checked there again on
 * every call, input is validated as for the CLI, mutating calls are audited there.
 * This file only adds what a browser needs: the session cookie, CSRF checks,
 * security headers, and SSE framing.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { stringify as toYaml } from "yaml";
import type { OperatorServiceClient, OperatorServiceHandlers } from "../../shared/gen/berth/v1/OperatorService.js";
import type { ListControllersResponse__Output } from "../../shared/gen/berth/v1/ListControllersResponse.js";
import { controllerWarnings, withOwnStoreState } from "../../shared/controllers-view.js";
import type { Logger } from "../../shared/log/logger.js";
import { formatHostPort, type HostPort } from "../../shared/addr.js";
import { builtFile } from "../../shared/package-root.js";
import type { AuditLog } from "../audit/audit-log.js";
import { AuthError } from "../auth/token-service.js";
import { CallError, ConsoleBridge, type Caller } from "./bridge.js";
import { checkMutation, clearedCookie, csrfTokenFor, CSRF_HEADER, sessionCookie, SignInCodes, tokenFromCookie } from "./session.js";
import { parseEventsQuery, parseHostAction, parseLogsQuery, parseName, parseRolloutAction, parseSignIn, UiInputError } from "./api-input.js";
import { USAGE_SAMPLE_MS, UsageHistory, type UsageIn } from "./usage-history.js";

export type ConsoleHandlers = Pick<
  OperatorServiceHandlers,
  "WhoAmI" | "ListHosts" | "GetHost" | "Cordon" | "Uncordon" | "Drain" | "ListServices" | "GetService" | "GetServiceHistory" | "GetRollout" | "RolloutControl" | "WatchRollout" | "ListEvents" | "WatchEvents" | "ListAudit" | "Logs" | "ResumeFailover" | "WatchEndpoints" | "ListControllers"
>;

export interface UiServerOptions {
  addr: HostPort;
  certPem: string;
  keyPem: string;
  handlers: ConsoleHandlers;
  log: Logger;
  now: () => number;
  /** Refusals before any handler (no session, bad CSRF token) are audited here. */
  audit?: AuditLog;
  /** Every host's latest usage, sampled for sparklines. */
  usage: () => ReadonlyMap<string, UsageIn | null | undefined>;
  /** The environment the controller serves (`--environment`), shown in the page's header; "" any. */
  environment?: string;
  /**
   * An operator-API client of another member of the group (controller/member/peers.ts):
   * the Controllers page asks each member for its own store state with the user's token,
   * as `berth controllers` does. Absent: a lone controller.
   */
  memberClient?: (address: string) => OperatorServiceClient;
  /**
   * Console sessions (auth/token-service.ts openSession): a sign-in gets a token of its
   * own for the cookie, and signing out revokes it. Absent (tests of the page alone): the
   * cookie holds the token signed in with.
   */
  sessions?: {
    open(token: string, peer: string): Promise<string>;
    close(token: string): Promise<boolean>;
    /** The token a session was signed in with (audited with each call it makes), if `token` is a session's. */
    parentOf(token: string): string | undefined;
  };
  /** The built page. @default dist/ui next to this build */
  staticDir?: string;
  /** How long a client has to send a whole request, headers and body. @default 60 s */
  requestTimeoutMs?: number;
}

export interface UiServer {
  address: HostPort;
  /** A one-time sign-in code for `token` (berth dev prints a link with it). */
  signInCode(token: string): string;
  /** Serves another certificate from the next handshake on (a CA rotation retired the old CA); open connections keep theirs. */
  setCertificate(certPem: string, keyPem: string): void;
  close(): Promise<void>;
}

export class UiListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UiListenError";
  }
}

/** dist/ui, wherever this code runs from (sources, tsc's output, the bundled CLI). */
export function defaultStaticDir(): string {
  return builtFile("dist/ui");
}

/**
 * Nothing but this origin: no inline script or style, no frames, no other host —
 * the console works on an air-gapped network and an injected string cannot run.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  // Served over HTTPS only: a browser that has been here never tries plain HTTP on this name again.
  "strict-transport-security": "max-age=31536000",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
};

const MAX_BODY_BYTES = 64 * 1024;
/** How long another member may take to say whether it reaches the store (as the CLI waits). */
const MEMBER_ROW_TIMEOUT_MS = 3_000;
/** A comment line on every open event stream this often: proxies and browsers see it alive. */
const SSE_KEEPALIVE_MS = 15_000;

const HTTP_OF: Partial<Record<grpc.status, number>> = {
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.FAILED_PRECONDITION]: 409,
  [grpc.status.ABORTED]: 409,
  [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.RESOURCE_EXHAUSTED]: 429,
  [grpc.status.UNAVAILABLE]: 503,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

async function loadStatic(dir: string): Promise<Map<string, { body: Buffer; type: string }>> {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (!existsSync(dir)) return files;
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else files.set(`/${prefix}${e.name}`, { body: await readFile(join(d, e.name)), type: TYPES[extname(e.name)] ?? "application/octet-stream" });
    }
  };
  await walk(dir, "");
  return files;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        // Read no more, and answer: destroying the request here reset the connection before the 413 could go out.
        req.removeAllListeners("data");
        req.pause();
        rej(new HttpError(413, `a request body of at most ${MAX_BODY_BYTES} bytes`));
      } else chunks.push(c);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (text === "") return res({});
      try {
        res(JSON.parse(text) as unknown);
      } catch {
        rej(new HttpError(400, "the body is not JSON"));
      }
    });
    req.on("error", rej);
  });
}

/** A path segment, percent-decoded; a malformed escape (%ZZ) is the caller's mistake (400), not the console's (500). */
const decoded = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new UiInputError([`a malformed %-escape in the path: ${JSON.stringify(segment.slice(0, 64))}`]);
  }
};

/** Connections the console holds at once: each is a descriptor of the controller's own process. */
const MAX_CONNECTIONS = 1_000;

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export async function serveUi(o: UiServerOptions): Promise<UiServer> {
  const api = new ConsoleBridge(o.handlers);
  const files = await loadStatic(o.staticDir ?? defaultStaticDir());
  if (!files.has("/index.html")) o.log.warn({ dir: o.staticDir ?? defaultStaticDir() }, "the web console's page is not built (npm run build): only its API is served");
  const codes = new SignInCodes(o.now);
  const history = new UsageHistory();
  history.record(o.now(), o.usage());
  const sampler = setInterval(() => history.record(o.now(), o.usage()), USAGE_SAMPLE_MS);
  sampler.unref();
  const streams = new Set<() => void>();

  const send = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void => {
    if (res.headersSent) return;
    res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...extra });
    res.end(JSON.stringify(body));
  };

  const fail = (res: ServerResponse, err: unknown): void => {
    if (err instanceof CallError) return send(res, HTTP_OF[err.code] ?? 500, { error: err.details, code: grpc.status[err.code] });
    if (err instanceof UiInputError) return send(res, 400, { error: err.message, code: "INVALID_ARGUMENT" });
    // A body left unread (too large) cannot be followed by another request on this connection.
    if (err instanceof HttpError) return send(res, err.status, { error: err.message }, err.status === 413 ? { connection: "close" } : {});
    o.log.error({ err }, "web console call failed");
    send(res, 500, { error: "internal error (see the controller log)" });
  };

  const callerOf = (req: IncomingMessage): Caller => {
    const token = tokenFromCookie(header(req, "cookie"));
    if (!token) throw new CallError(grpc.status.UNAUTHENTICATED, "not signed in");
    // The address alone, as sign-in names it: refusals are summed per source address (audit/refusals.ts), and with the
    // port each connection counted as a source of its own — a flood of refused calls filled the table.
    // A session's calls name the token it was signed in with, so the audit log says whose they are.
    const parent = o.sessions?.parentOf(token);
    return { token, peer: `console:${req.socket.remoteAddress ?? "?"}${parent ? ` session of ${parent}` : ""}` };
  };

  /** A refusal no handler saw (CSRF): audited like the handlers' own, under the caller's token when it is valid. */
  const auditRefusal = async (req: IncomingMessage, who: Caller, method: string, error: string): Promise<void> => {
    if (!o.audit) return;
    const me = await api.unary("WhoAmI", {}, who).catch(() => undefined);
    await o.audit
      .append({ tokenId: me?.token_id ?? "", role: me?.role ?? "", method: `console ${method}`, request: "", code: grpc.status.PERMISSION_DENIED, error, peer: who.peer })
      .catch((err: unknown) => o.log.error({ err }, "writing the audit log failed"));
    void req;
  };

  /** Checks a mutating call's CSRF token, origin and type before any handler runs. */
  const mutation = async (req: IncomingMessage, method: string): Promise<Caller> => {
    const who = callerOf(req);
    const why = checkMutation({ method: req.method ?? "", host: header(req, "host"), origin: header(req, "origin"), csrf: header(req, CSRF_HEADER), contentType: header(req, "content-type") }, who.token);
    if (why) {
      await auditRefusal(req, who, method, why);
      throw new HttpError(403, why);
    }
    return who;
  };

  const session = async (token: string, peer: string): Promise<Record<string, string>> => {
    const me = await api.unary("WhoAmI", {}, { token, peer });
    if (me.role !== "viewer" && me.role !== "operator" && me.role !== "admin") throw new CallError(grpc.status.PERMISSION_DENIED, `a ${me.role} token cannot sign in to the console: use a viewer, operator or admin token`);
    // A cookie holding the token signed in with (the store could not take a session, or a sign-in from before sessions): signing out cannot end it.
    const parent = o.sessions?.parentOf(token);
    const warning = o.sessions && parent === undefined ? "this browser holds your token itself, not a session of its own (the store could not take one when you signed in): signing out only forgets it here — sign out and in again to get a session" : undefined;
    return { token_id: me.token_id ?? "", role: me.role ?? "", csrf: csrfTokenFor(token), environment: o.environment ?? "", ...(parent ? { signed_in_with: parent } : {}), ...(warning ? { warning } : {}) };
  };

  const hostsWithHistory = async (who: Caller) => {
    const r = await api.unary("ListHosts", {}, who);
    return { ...r, hosts: (r.hosts ?? []).map((x) => ({ ...x, usage_history: history.of(x.id ?? "") })) };
  };

  /** ListControllers, each member's row with its own word on the store (asked of it), and the warnings `berth controllers` prints. */
  const controllers = async (who: Caller) => {
    const r = await api.unary("ListControllers", {}, who);
    const client = o.memberClient;
    if (r.store === "etcd" && client) {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${who.token}`);
      const ask = (address: string): Promise<ListControllersResponse__Output> =>
        new Promise((resolve, reject) =>
          client(address).ListControllers({}, md, { deadline: Date.now() + MEMBER_ROW_TIMEOUT_MS }, (err: grpc.ServiceError | null, v?: ListControllersResponse__Output) => (err || !v ? reject(err ?? new Error("empty response")) : resolve(v))),
        );
      r.members = await Promise.all(r.members.map((m) => (m.self ? m : withOwnStoreState(m, () => ask(m.address)))));
    }
    return { ...r, warnings: controllerWarnings(r) };
  };

  const rollouts = async (who: Caller, names: string[]) =>
    (await Promise.all(names.map((name) => api.unary("GetRollout", { name }, who).catch(() => undefined)))).filter((r) => r?.exists === true);

  /** An event stream: each message a `data:` line, its `id:` what a reconnect resumes after. */
  const sse = <Res>(req: IncomingMessage, res: ServerResponse, start: (sink: { data(m: Res): boolean; end(err?: CallError): void }) => { cancel(): void; drain(): void }, idOf?: (m: Res) => string): void => {
    let began = false;
    const begin = (): void => {
      if (began) return;
      began = true;
      // Retry after 2 s when the controller goes away (a restart): the page reconnects by itself.
      res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" });
      res.write("retry: 2000\n\n");
    };
    // Set below; stop() may run before (the handler can end the stream at once).
    const open: { stream?: { cancel(): void; drain(): void }; keepalive?: NodeJS.Timeout } = {};
    const stop = (): void => {
      clearInterval(open.keepalive);
      streams.delete(stop);
      open.stream?.cancel();
      if (!res.writableEnded) res.end();
    };
    streams.add(stop);
    open.stream = start({
      data(m) {
        begin();
        const id = idOf?.(m);
        return res.write(`${id ? `id: ${id}\n` : ""}data: ${JSON.stringify(m)}\n\n`);
      },
      end(err) {
        if (err && !began) {
          // Refused before anything was sent (not signed in, no such service): a plain HTTP error, which EventSource does not retry.
          fail(res, err);
        } else if (err) {
          res.write(`event: failed\ndata: ${JSON.stringify({ error: err.details, code: grpc.status[err.code] })}\n\n`);
        }
        stop();
      },
    });
    // A stream that has nothing to say yet still answers, so the page knows it is connected.
    const opened = setTimeout(() => {
      if (!res.writableEnded) {
        begin();
        res.write(": open\n\n");
      }
    }, 300);
    opened.unref();
    open.keepalive = setInterval(() => {
      if (res.writableEnded) clearInterval(open.keepalive);
      else if (began) res.write(": keepalive\n\n");
    }, SSE_KEEPALIVE_MS);
    open.keepalive.unref();
    res.on("drain", () => open.stream?.drain());
    req.on("close", stop);
  };

  type Route = (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, url: URL) => Promise<void>;
  const routes: [string, RegExp, Route][] = [
    ["GET", /^\/api\/session$/, async (req, res) => {
      const who = callerOf(req);
      send(res, 200, await session(who.token, who.peer));
    }],
    ["POST", /^\/api\/session$/, async (req, res) => {
      // Sign-in: no session yet, so no CSRF token; JSON and this origin only, so no other site can sign a browser in.
      const origin = header(req, "origin");
      if (origin !== undefined && origin !== `https://${header(req, "host") ?? ""}`) throw new HttpError(403, "sign in from the console's own page");
      if (!/^application\/json\b/i.test(header(req, "content-type") ?? "")) throw new HttpError(400, "sign in with application/json");
      const input = parseSignIn(await readBody(req));
      const peer = `console:${req.socket.remoteAddress ?? "?"}`;
      let token: string;
      if ("code" in input) {
        const t = codes.redeem(input.code);
        if (!t) throw new CallError(grpc.status.UNAUTHENTICATED, "this sign-in link was used already or has expired: sign in with a token");
        token = t;
      } else token = input.token;
      const signedInWith = await session(token, peer);
      let cookie = token;
      if (o.sessions) {
        try {
          cookie = await o.sessions.open(token, peer);
        } catch (err) {
          // Refused (a console session's own token): said as any refused sign-in is.
          if (err instanceof AuthError) throw new CallError(grpc.status.UNAUTHENTICATED, err.message);
          // The token is valid (checked above): the store cannot take the session's record now
          // (etcd without its quorum). Signed in all the same, as before sessions existed: the
          // console is where an operator looks during an outage.
          o.log.warn({ err, token: signedInWith.token_id }, "a console session could not be stored: the cookie holds the token signed in with");
        }
      }
      const s = cookie === token ? signedInWith : await session(cookie, peer);
      o.log.info({ token: signedInWith.token_id, session: s.token_id, role: s.role, peer }, "console sign-in");
      send(res, 200, s, { "set-cookie": sessionCookie(cookie) });
    }],
    ["DELETE", /^\/api\/session$/, async (req, res) => {
      const who = await mutation(req, "SignOut");
      // The session's token is revoked (its streams end), not only forgotten by this browser.
      let ended = false;
      try {
        ended = (await o.sessions?.close(who.token)) ?? false;
      } catch (err) {
        o.log.warn({ err, peer: who.peer }, "a console session could not be revoked at sign-out");
        // Forgotten by this browser all the same; the user learns the session itself still stands.
        const id = who.token.split(".")[1] ?? "";
        return send(res, 503, { error: `signed out of this browser, but the session (token ${id}) could not be revoked: ${err instanceof Error ? err.message : String(err)}; it ends when it expires, or with berth token revoke ${id}`, code: "UNAVAILABLE" }, { "set-cookie": clearedCookie() });
      }
      o.log.info({ peer: who.peer, revoked: ended }, "console sign-out");
      send(res, 200, {}, { "set-cookie": clearedCookie() });
    }],
    ["POST", /^\/api\/signin-codes$/, async (req, res) => {
      // For `berth dev`: a bearer token (never the cookie) buys a one-time code for itself.
      const m = /^Bearer (\S+)$/.exec(header(req, "authorization") ?? "");
      if (!m) throw new CallError(grpc.status.UNAUTHENTICATED, "send the token as Authorization: Bearer");
      await session(m[1]!, `console:${req.socket.remoteAddress ?? "?"}`);
      send(res, 200, { code: codes.issue(m[1]!) });
    }],
    ["GET", /^\/api\/overview$/, async (req, res) => {
      const who = callerOf(req);
      const [hosts, services, events] = await Promise.all([api.unary("ListHosts", {}, who), api.unary("ListServices", {}, who), api.unary("ListEvents", { limit: 200, host: "", service: "" }, who)]);
      send(res, 200, { hosts, services, rollouts: await rollouts(who, (services.services ?? []).map((s) => s.name ?? "")), events: events.events });
    }],
    ["GET", /^\/api\/controllers$/, async (req, res) => {
      send(res, 200, await controllers(callerOf(req)));
    }],
    ["GET", /^\/api\/hosts$/, async (req, res) => {
      send(res, 200, await hostsWithHistory(callerOf(req)));
    }],
    ["GET", /^\/api\/hosts\/([^/]+)$/, async (req, res, m) => {
      const who = callerOf(req);
      const id = parseName(decoded(m[1]!), "host");
      const host = await api.unary("GetHost", { id }, who);
      const events = await api.unary("ListEvents", { limit: 100, host: host.id ?? "", service: "" }, who);
      send(res, 200, { host: { ...host, usage_history: history.of(host.id ?? "") }, events: events.events });
    }],
    ["POST", /^\/api\/hosts\/([^/]+)\/([a-z]+)$/, async (req, res, m) => {
      const action = parseHostAction(m[2]!);
      const who = await mutation(req, action);
      const id = parseName(decoded(m[1]!), "host");
      const method = action === "cordon" ? "Cordon" : action === "uncordon" ? "Uncordon" : "Drain";
      send(res, 200, await api.unary(method, { id }, who));
    }],
    ["GET", /^\/api\/services$/, async (req, res) => {
      send(res, 200, await api.unary("ListServices", {}, callerOf(req)));
    }],
    ["GET", /^\/api\/services\/([^/]+)$/, async (req, res, m) => {
      const who = callerOf(req);
      const name = parseName(decoded(m[1]!), "service");
      const status = await api.unary("GetService", { name }, who);
      const [rollout, events, revisions] = await Promise.all([
        api.unary("GetRollout", { name }, who).catch(() => null),
        api.unary("ListEvents", { limit: 500, host: "", service: name }, who),
        // An unreadable record (see reconcile_error) has no history to show, which is no reason to fail the page.
        api.unary("GetServiceHistory", { name }, who).then((r) => r.revisions ?? [], () => []),
      ]);
      const spec = JSON.parse(status.spec_json || "null") as unknown;
      const history = revisions.map(({ spec_json, ...r }) => ({ ...r, spec_yaml: toYaml(JSON.parse(spec_json || "null") as unknown) }));
      send(res, 200, { status, spec_yaml: spec === null ? "" : toYaml(spec), rollout, events: events.events, revisions: history });
    }],
    ["POST", /^\/api\/services\/([^/]+)\/rollout$/, async (req, res, m) => {
      const who = await mutation(req, "RolloutControl");
      const name = parseName(decoded(m[1]!), "service");
      const { action } = parseRolloutAction(await readBody(req));
      send(res, 200, await api.unary("RolloutControl", { service: name, action }, who));
    }],
    ["GET", /^\/api\/rollouts$/, async (req, res) => {
      const who = callerOf(req);
      const services = await api.unary("ListServices", {}, who);
      send(res, 200, { rollouts: await rollouts(who, (services.services ?? []).map((s) => s.name ?? "")) });
    }],
    ["GET", /^\/api\/events$/, async (req, res, _m, url) => {
      const q = parseEventsQuery(url.searchParams);
      const r = await api.unary("ListEvents", { limit: q.limit, host: q.host, service: q.service }, callerOf(req));
      send(res, 200, { events: q.type ? (r.events ?? []).filter((e) => e.type === q.type || (e.type ?? "").startsWith(`${q.type}.`)) : r.events });
    }],
    ["GET", /^\/api\/audit$/, async (req, res) => {
      send(res, 200, await api.unary("ListAudit", { since_ms: 0, limit: 500 }, callerOf(req)));
    }],
    ["POST", /^\/api\/failover\/resume$/, async (req, res) => {
      send(res, 200, await api.unary("ResumeFailover", {}, await mutation(req, "ResumeFailover")));
    }],
    ["GET", /^\/api\/watch\/events$/, async (req, res, _m, url) => {
      const who = callerOf(req);
      const q = parseEventsQuery(url.searchParams);
      // A reconnect resumes after the last event it saw; a first connect starts at the newest event.
      const last = Number(header(req, "last-event-id") ?? "");
      let after = Number.isInteger(last) && last > 0 ? last : q.after_seq;
      if (after === 0) after = Number((await api.unary("ListEvents", { limit: 1, host: "", service: "" }, who)).events?.[0]?.seq ?? 0);
      sse(req, res, (sink) => api.stream("WatchEvents", { after_seq: after, host: q.host, service: q.service }, who, sink), (e: { seq?: unknown }) => String(e.seq ?? ""));
    }],
    ["GET", /^\/api\/watch\/rollout\/([^/]+)$/, async (req, res, m) => {
      const who = callerOf(req);
      const name = parseName(decoded(m[1]!), "service");
      sse(req, res, (sink) => api.stream("WatchRollout", { name }, who, sink));
    }],
    ["GET", /^\/api\/watch\/endpoints\/([^/]+)$/, async (req, res, m) => {
      // The same watch as `berth endpoints -w` and `berth lb`: the list in service, and what each load balancer applied.
      const who = callerOf(req);
      const name = parseName(decoded(m[1]!), "service");
      sse(req, res, (sink) => api.stream("WatchEndpoints", { name }, who, sink));
    }],
    ["GET", /^\/api\/watch\/logs\/([^/]+)$/, async (req, res, m, url) => {
      const who = callerOf(req);
      const q = parseLogsQuery(decoded(m[1]!), url.searchParams);
      sse(req, res, (sink) => api.stream("Logs", { service: q.service, host: q.host, install: false, follow: true, tail: q.tail }, who, sink));
    }],
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "https://console.invalid");
    const path = url.pathname;
    if (path.startsWith("/api/")) {
      let allowed = false;
      for (const [method, re, route] of routes) {
        const m = re.exec(path);
        if (!m) continue;
        allowed = true;
        if (method !== req.method) continue;
        return route(req, res, m, url);
      }
      throw new HttpError(allowed ? 405 : 404, allowed ? `${req.method ?? ""} is not allowed here` : `no such API: ${path.slice(0, 100)}`);
    }
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "the page is read-only");
    // The page routes in its URL's fragment (#/hosts): every other path is a file of the build.
    const f = files.get(path === "/" ? "/index.html" : path);
    if (!f) {
      res.writeHead(404, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" });
      res.end(files.size ? "not found\n" : "the web console is not built: run npm run build\n");
      return;
    }
    // Built assets carry a content hash in their name: cached for good; the page itself never.
    const cache = path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": f.type, "content-length": String(f.body.length), "cache-control": cache });
    res.end(req.method === "HEAD" ? undefined : f.body);
  };

  const requestTimeoutMs = o.requestTimeoutMs ?? 60_000;
  // Node looks for overdue requests this often (its default, 30 s, would let a short timeout run long).
  const checkEveryMs = Math.min(30_000, Math.max(100, Math.floor(requestTimeoutMs / 2)));
  const server: Server = createServer({ cert: o.certPem, key: o.keyPem, minVersion: "TLSv1.2", connectionsCheckingInterval: checkEveryMs }, (req, res) => {
    handle(req, res).catch((err: unknown) => fail(res, err));
  });
  // The whole request (headers and body) within a minute: a client that declares a body and never sends it
  // gives its connection up. An event stream's request is over once its headers are in: its long response
  // is not a long request, and no timeout cuts it. At most MAX_CONNECTIONS connections at once.
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(30_000, requestTimeoutMs);
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((res, rej) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      rej(new UiListenError(`cannot serve the web console on ${formatHostPort(o.addr)}: ${e.code === "EADDRINUSE" ? "the address is in use" : e.message}`)),
    );
    server.listen(o.addr.port, o.addr.host, () => res());
  }).catch((e: unknown) => {
    clearInterval(sampler);
    throw e;
  });
  const a = server.address();
  const address = typeof a === "object" && a ? { host: o.addr.host, port: a.port } : o.addr;
  o.log.info({ addr: formatHostPort(address) }, "web console listening");
  return {
    address,
    signInCode: (token) => codes.issue(token),
    setCertificate: (certPem, keyPem) => server.setSecureContext({ cert: certPem, key: keyPem, minVersion: "TLSv1.2" }),
    async close() {
      clearInterval(sampler);
      for (const stop of [...streams]) stop();
      await new Promise<void>((res) => {
        server.close(() => res());
        server.closeAllConnections();
      });
    },
  };
}
