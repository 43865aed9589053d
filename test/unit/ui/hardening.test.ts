/**
 * The console's HTTP edge against a client that misbehaves: a malformed path escape,
 * an oversized body, refused calls summed per address, HSTS. The console server is real
 * (HTTPS on loopback); the operator handlers are stand-ins.
 */
import "reflect-metadata";
import { connect } from "node:tls";
import { request } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { serveUi, type ConsoleHandlers, type UiServer } from "../../../controller/ui/ui-server.js";
import { AuthError } from "../../../controller/auth/token-service.js";
import { SESSION_COOKIE } from "../../../controller/ui/session.js";
import { createLogger } from "../../../shared/log/logger.js";
import { createCa, createServerCert } from "../../../shared/tls/pki.js";

function call(url: string, o: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? "GET", rejectUnauthorized: false, headers: o.headers ?? {} }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

describe("the console's HTTP edge", () => {
  let ui: UiServer | undefined;
  afterEach(async () => {
    await ui?.close();
    ui = undefined;
  });

  async function start(audited: { peer: string }[] = [], requestTimeoutMs?: number, sessions?: unknown): Promise<string> {
    const ca = await createCa();
    const cert = await createServerCert(ca, { dnsNames: ["localhost"], ips: ["127.0.0.1"] });
    const handlers = {
      WhoAmI: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, { token_id: "0123456789", role: "viewer" }),
      GetHost: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, { id: "h" }),
    } as unknown as ConsoleHandlers;
    const audit = { append: async (e: { peer: string }) => void audited.push(e) };
    ui = await serveUi({ addr: { host: "127.0.0.1", port: 0 }, certPem: cert.certPem, keyPem: cert.keyPem, handlers, log: createLogger("test", "silent"), now: () => Date.now(), usage: () => new Map(), staticDir: "/nonexistent", audit, ...(requestTimeoutMs ? { requestTimeoutMs } : {}), ...(sessions ? { sessions } : {}) } as unknown as Parameters<typeof serveUi>[0]);
    return `https://127.0.0.1:${ui.address.port}`;
  }

  it("answers a malformed %-escape with 400, not a 500 and a stack in the log", async () => {
    const base = await start();
    const r = await call(`${base}/api/hosts/%ZZ`, { headers: { cookie: `${SESSION_COOKIE}=bt1.x` } });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/malformed %-escape/);
  });

  it("answers an oversized sign-in body with 413, which the client receives, and closes the connection", async () => {
    const base = await start();
    const r = await call(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe("close");
  });

  it("a sign-in the store cannot give a session of its own still signs in, with the token itself in the cookie, and says so", async () => {
    const sessions = { open: async () => Promise.reject(new Error("etcd: no quorum")), close: async () => false, parentOf: () => undefined };
    const base = await start([], undefined, sessions);
    const r = await call(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify({ token: "bt1.0123456789.secret" })) });
    expect(r.status).toBe(200);
    expect(String(r.headers["set-cookie"])).toContain(`${SESSION_COOKIE}=bt1.0123456789.secret;`);
    expect((JSON.parse(r.text) as { warning?: string }).warning).toMatch(/holds your token itself/);
    // A refusal is a refused sign-in, not a fallback: a copied session cookie gets no sign-in at all.
    await ui!.close();
    const refusing = { open: async () => Promise.reject(new AuthError("a console session's token cannot sign in: sign in with your own token")), close: async () => false, parentOf: () => "0123456789" };
    const base1 = await start([], undefined, refusing);
    const refused = await call(`${base1}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify({ token: "bt1.0123456789.secret" })) });
    expect(refused.status).toBe(401);
    expect(refused.headers["set-cookie"]).toBeUndefined();
    expect(refused.text).toMatch(/cannot sign in/);
    // And a session that was stored carries no warning.
    await ui!.close();
    const ok = { open: async () => "bt1.aaaaaaaaaa.other", close: async () => true, parentOf: (t: string) => (t === "bt1.aaaaaaaaaa.other" ? "0123456789" : undefined) };
    const base2 = await start([], undefined, ok);
    const r2 = await call(`${base2}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify({ token: "bt1.0123456789.secret" })) });
    expect(String(r2.headers["set-cookie"])).toContain(`${SESSION_COOKIE}=bt1.aaaaaaaaaa.other;`);
    expect(JSON.parse(r2.text) as { warning?: string; signed_in_with?: string }).toMatchObject({ signed_in_with: "0123456789" });
    expect((JSON.parse(r2.text) as { warning?: string }).warning).toBeUndefined();
  });

  it("sends HSTS on every answer", async () => {
    const base = await start();
    expect((await call(`${base}/api/session`)).headers["strict-transport-security"]).toBe("max-age=31536000");
    expect((await call(`${base}/nope`)).headers["strict-transport-security"]).toBe("max-age=31536000");
  });

  it("audits refused calls under the caller's address, not one source per connection", async () => {
    const audited: { peer: string }[] = [];
    const base = await start(audited);
    for (let i = 0; i < 3; i++) {
      const r = await call(`${base}/api/hosts/x/cordon`, { method: "POST", headers: { cookie: `${SESSION_COOKIE}=garbage`, "content-type": "text/plain" } });
      expect(r.status).toBe(403);
    }
    expect(audited.map((a) => a.peer)).toEqual(["console:127.0.0.1", "console:127.0.0.1", "console:127.0.0.1"]);
  });

  it("a request whose body never comes is answered 408 and its connection closed", async () => {
    const base = await start([], 1_000);
    const port = Number(new URL(base).port);
    const sock = connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    let answer = "";
    sock.on("data", (c: Buffer) => (answer += c.toString()));
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    await new Promise<void>((r) => sock.once("secureConnect", () => r()));
    // Declares a body, sends none.
    sock.write("POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n");
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});
