/**
 * Connections that never get anywhere are closed, and their memory freed: a
 * TCP connection that sends nothing, a TLS handshake left half done, an HTTP/2
 * connection with no call (a zero window included). A call that is open but
 * quiet, as an `events -f` between events, is never cut.
 */
import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event__Output } from "../../../shared/gen/berth/v1/Event.js";
import { CONTROLLER_TLS_NAME } from "../../../shared/tls/pki.js";
import { until } from "../until.js";
import { startTestController, unaryP, type TestController } from "./controller.js";

const HANDSHAKE_MS = 1000;
const IDLE_MS = 1500;
const REQUEST_MS = 1000;

/** Resolves with how long the server took to close the socket (ms); rejects past `withinMs`. */
function closedWithin(socket: net.Socket, withinMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${withinMs} ms`));
    }, withinMs);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

function tcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

/** The start of a TLS 1.2/1.3 ClientHello record: a header promising 512 bytes, and 6 of them. */
const PARTIAL_CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** SETTINGS: INITIAL_WINDOW_SIZE (0x4) = 0, so not one byte of any stream may be sent to us. */
const H2_SETTINGS_ZERO_WINDOW = Buffer.from([0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 0x4, 0, 0, 0, 0]);

describe("connections that never authenticate", () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await startTestController({ handshakeTimeoutMs: HANDSHAKE_MS, idleConnectionMs: IDLE_MS, requestArrivalMs: REQUEST_MS });
  });
  afterAll(async () => {
    await ctl?.close();
  });
  const port = (): number => ctl.handle.address.port;

  it("an idle TCP connection that sends nothing is closed within the handshake bound", async () => {
    const s = await tcp(port());
    const ms = await closedWithin(s, HANDSHAKE_MS + 4000);
    expect(ms).toBeGreaterThanOrEqual(HANDSHAKE_MS - 100);
  });

  it("a TLS handshake stalled after part of a ClientHello is closed within the bound", async () => {
    const s = await tcp(port());
    s.write(PARTIAL_CLIENT_HELLO);
    await closedWithin(s, HANDSHAKE_MS + 4000);
  });

  it("an HTTP/2 connection with no call, and a zero window, is closed within the idle bound", async () => {
    const s = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const c = tls.connect({ host: "127.0.0.1", port: port(), ca: ctl.handle.caPem, servername: CONTROLLER_TLS_NAME, ALPNProtocols: ["h2"] }, () => resolve(c));
      c.once("error", reject);
    });
    expect(s.alpnProtocol).toBe("h2");
    s.write(Buffer.concat([H2_PREFACE, H2_SETTINGS_ZERO_WINDOW]));
    // Read (and drop) what comes, or the close would go unseen; the zero window
    // is HTTP/2's: the server may not send a byte of any stream.
    s.resume();
    await closedWithin(s, IDLE_MS + 5000);
  });

  it("a call whose request never arrives is ended, and then its connection closed", async () => {
    const session = http2.connect(`https://127.0.0.1:${port()}`, { ca: ctl.handle.caPem, servername: CONTROLLER_TLS_NAME });
    session.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => session.on("close", resolve));
    // Headers with a bad token, then not one byte of the message: the handler never runs.
    const req = session.request({ ":method": "POST", ":path": "/berth.v1.OperatorService/Cordon", "content-type": "application/grpc", te: "trailers", authorization: "Bearer x" });
    req.on("error", () => undefined);
    const status = await new Promise<string | undefined>((resolve) => {
      req.on("response", (h) => h["grpc-status"] !== undefined && resolve(String(h["grpc-status"])));
      req.on("trailers", (h) => resolve(String(h["grpc-status"])));
      req.on("close", () => resolve(undefined));
      req.resume();
      setTimeout(() => resolve("no status within the bound"), REQUEST_MS + 5000).unref();
    });
    expect(status).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error("the connection outlived the idle bound")), IDLE_MS + 5000))]);
  });

  it("many stalled handshakes are all closed and leave no sockets behind", async () => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TLSWrap").length;
    global.gc?.();
    const baseSockets = sockets();
    const rssBefore = process.memoryUsage().rss;
    const N = 300;
    const conns = await Promise.all(Array.from({ length: N }, () => tcp(port())));
    for (const [i, c] of conns.entries()) if (i % 2) c.write(PARTIAL_CLIENT_HELLO);
    const rssOpen = process.memoryUsage().rss;
    await Promise.all(conns.map((c) => closedWithin(c, HANDSHAKE_MS + 10_000)));
    global.gc?.();
    const rssAfter = process.memoryUsage().rss;
    console.log(`${N} stalled connections: rss ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssOpen / 2 ** 20).toFixed(0)} (open) → ${(rssAfter / 2 ** 20).toFixed(0)} MiB (closed)`);
    // Both ends of every connection are in this process: all gone, server side included.
    await until(() => sockets() <= baseSockets, "every socket closed, the server's ends too", 5000);
    expect(rssAfter - rssBefore).toBeLessThan(64 * 2 ** 20);
  }, 30_000);

  it("a quiet watch outlives the idle bound, and gets the next event", async () => {
    const viewer = ctl.client(ctl.tokens.viewer);
    const got: Event__Output[] = [];
    const history = await unaryP<object, { events: Event__Output[] }>(viewer, "ListEvents", { limit: 1 });
    const stream = viewer.client.WatchEvents({ after_seq: history.events.at(-1)?.seq ?? 0 }, viewer.md);
    let ended: unknown;
    stream.on("data", (e: Event__Output) => got.push(e));
    stream.on("error", (err: grpc.ServiceError) => (ended = err.code === grpc.status.CANCELLED ? ended : err));
    stream.on("end", () => (ended ??= "end"));
    // An idle connection opened now is closed once the idle bound has passed:
    // by then the watch's connection, were it idle, would have been too.
    const idle = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const c = tls.connect({ host: "127.0.0.1", port: port(), ca: ctl.handle.caPem, servername: CONTROLLER_TLS_NAME, ALPNProtocols: ["h2"] }, () => resolve(c));
      c.once("error", reject);
    });
    idle.write(H2_PREFACE);
    idle.write(Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]));
    idle.resume();
    const watchStarted = Date.now();
    await closedWithin(idle, IDLE_MS + 5000);
    // Twice the bound, measured from after the watch was already open.
    const more = 2 * IDLE_MS - (Date.now() - watchStarted);
    if (more > 0) {
      const other = await new Promise<tls.TLSSocket>((resolve, reject) => {
        const c = tls.connect({ host: "127.0.0.1", port: port(), ca: ctl.handle.caPem, servername: CONTROLLER_TLS_NAME, ALPNProtocols: ["h2"] }, () => resolve(c));
        c.once("error", reject);
      });
      other.write(H2_PREFACE);
      other.resume();
      await closedWithin(other, IDLE_MS + 5000);
    }
    expect(ended).toBeUndefined();
    const admin = ctl.client(ctl.tokens.admin);
    await unaryP(admin, "CreateToken", { role: "viewer", description: "wakes the watch" });
    await until(() => got.some((e) => e.type === "token.created"), "the event on the quiet watch", 5000);
    stream.cancel();
  }, 30_000);
});
