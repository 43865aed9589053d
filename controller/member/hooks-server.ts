/**
 * `POST /hooks/gitops/NAME`: a git server's push webhook, on its own plain HTTP
 * listener (`berth controller --hooks-addr`), served by every member; a valid one
 * asks the leader to sync that source at once (gitops/request-sync.ts). The body is
 * read whole (at most 1 MiB) and checked against the source's HMAC key (a berth
 * secret) before anything else happens; the answer never says more than needed.
 * Put TLS in front of it (a load balancer) when it faces the internet: the HMAC
 * proves who sent it, not that nobody read it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { formatHostPort, type HostPort } from "../../shared/addr.js";
import { listenHttp } from "../../shared/metrics/server.js";
import type { Logger } from "../../shared/log/logger.js";
import type { EventLog } from "../events/event-log.js";
import type { SecretStore } from "../secrets/secret-store.js";
import type { GitopsSources } from "../gitops/sources.js";
import { requestSync } from "../gitops/request-sync.js";
import { verifySignature } from "../gitops/webhook.js";
import { SOURCE_NAME } from "../gitops/source.js";

export const MAX_HOOK_BODY_BYTES = 1024 * 1024;

export class HooksListenError extends Error {
  override name = "HooksListenError";
}

export interface HooksServer {
  address: HostPort;
  close(): Promise<void>;
}

export interface HooksDeps {
  gitops: GitopsSources;
  secrets?: SecretStore;
  events: EventLog;
  log: Logger;
  now: () => number;
}

function readBody(req: IncomingMessage): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > MAX_HOOK_BODY_BYTES) {
        resolve("too-large");
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

export async function serveHooks(d: HooksDeps, at: HostPort): Promise<HooksServer> {
  const reply = (res: ServerResponse, code: number, text: string): void => void res.writeHead(code, { "content-type": "text/plain" }).end(`${text}\n`);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const m = /^\/hooks\/gitops\/([^/]+)$/.exec(path);
    if (!m) return reply(res, 404, "not found: berth serves POST /hooks/gitops/NAME only");
    if (req.method !== "POST") return void res.writeHead(405, { allow: "POST", "content-type": "text/plain" }).end("method not allowed\n");
    const name = decodeURIComponent(m[1] ?? "");
    const body = await readBody(req);
    if (body === "too-large") return reply(res, 413, `body larger than ${MAX_HOOK_BODY_BYTES / 1024} KiB`);
    const src = SOURCE_NAME.test(name) ? d.gitops.get(name) : undefined;
    // Unknown source and bad signature answer alike: the endpoint does not list sources.
    const key = src?.webhookSecret ? d.secrets?.value(src.webhookSecret) : undefined;
    const v = key ? verifySignature(req.headers, body, key) : { ok: false as const, reason: src ? "the source has no webhook secret" : "no such source" };
    if (!src || !v.ok) {
      d.log.warn({ source: name.slice(0, 64), reason: v.ok ? "" : v.reason, peer: req.socket.remoteAddress }, "webhook refused");
      return reply(res, 401, "refused: unknown source or bad signature");
    }
    if (src.suspended) return reply(res, 409, `source ${name} is suspended`);
    const event = String(req.headers["x-github-event"] ?? req.headers["x-gitea-event"] ?? "push").slice(0, 40);
    if (!(await requestSync(d.events, d.gitops, name, d.now(), "webhook", `${event} webhook from ${req.socket.remoteAddress ?? "?"}`))) return reply(res, 409, "the source changed concurrently; send again");
    d.log.info({ source: name, event }, "webhook: sync requested");
    reply(res, 202, `sync of ${name} requested`);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      d.log.error({ err }, "webhook failed");
      if (!res.headersSent) reply(res, 500, "internal error");
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5000;
  server.maxConnections = 64;
  return listenHttp(
    server,
    at,
    (e) => new HooksListenError(e.code === "EADDRINUSE" ? `hooks address ${formatHostPort(at)} is in use` : `cannot serve hooks on ${formatHostPort(at)}: ${e.message}`, { cause: e }),
  );
}
