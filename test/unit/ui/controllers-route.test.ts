/**
 * The console's /api/controllers: as `berth controllers`, each member of a group is
 * asked for its own store state (with the user's token), and the CLI's warnings come
 * with the answer — a member cut off from etcd, one that does not answer. The
 * console server is real (HTTPS on loopback); the operator handlers and the other
 * member are stand-ins.
 */
import "reflect-metadata";
import * as grpc from "@grpc/grpc-js";
import { request } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { serveUi, type ConsoleHandlers, type UiServer } from "../../../controller/ui/ui-server.js";
import { SESSION_COOKIE } from "../../../controller/ui/session.js";
import type { OperatorServiceClient } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { ListControllersResponse } from "../../../shared/gen/berth/v1/ListControllersResponse.js";
import { createLogger } from "../../../shared/log/logger.js";
import { createCa, createServerCert } from "../../../shared/tls/pki.js";

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const member = (id: string, self: boolean) => ({ id, address: `${id}:7420`, leader: id === "c1", started_at_ms: NOW - 60_000, agents: 1, self, ...(self ? { store_state: "ok" } : {}) });
const group: ListControllersResponse = {
  members: [member("c1", true), member("c2", false), member("c3", false)],
  leader: "c1",
  leader_since_ms: NOW - 30_000,
  store: "etcd",
  etcd: [],
  now_ms: NOW,
  gone: [{ id: "c4", address: "c4:7420", gone_since_ms: NOW - 40_000, left: false }],
};

/** What each other member says of itself: c2 lost etcd a minute ago; c3 does not answer. */
function client(address: string, tokens: string[]): OperatorServiceClient {
  return {
    ListControllers(_req: unknown, md: grpc.Metadata, _opts: unknown, cb: (err: grpc.ServiceError | null, r?: unknown) => void) {
      tokens.push(String(md.get("authorization")[0]));
      if (address.startsWith("c3")) return cb(Object.assign(new Error("deadline"), { code: grpc.status.DEADLINE_EXCEEDED, details: "Deadline exceeded", metadata: new grpc.Metadata() }));
      cb(null, { ...group, members: [{ ...member("c2", true), store_state: "unreachable", store_unreachable_since_ms: NOW - 60_000, store_error: "etcd: no leader" }] });
    },
  } as unknown as OperatorServiceClient;
}

function get(url: string, cookie: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, headers: { cookie } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the console's controllers view", () => {
  let ui: UiServer | undefined;
  afterEach(async () => {
    await ui?.close();
    ui = undefined;
  });

  it("asks every other member for its own store state with the user's token, and says what berth controllers warns", async () => {
    const ca = await createCa();
    const cert = await createServerCert(ca, { dnsNames: ["localhost"], ips: ["127.0.0.1"] });
    const tokens: string[] = [];
    const handlers = { ListControllers: (_call: unknown, cb: (e: null, r: ListControllersResponse) => void) => cb(null, group) } as unknown as ConsoleHandlers;
    ui = await serveUi({ addr: { host: "127.0.0.1", port: 0 }, certPem: cert.certPem, keyPem: cert.keyPem, handlers, log: createLogger("test", "silent"), now: () => NOW, usage: () => new Map(), staticDir: "/nonexistent", memberClient: (a) => client(a, tokens) });
    const r = await get(`https://127.0.0.1:${ui.address.port}/api/controllers`, `${SESSION_COOKIE}=bt1.user-token`);
    expect(r.status).toBe(200);
    const body = r.body as { members: { id: string; store_state: string; store_error: string }[]; warnings: string[] };
    expect(body.members.map((m) => [m.id, m.store_state])).toEqual([
      ["c1", "ok"],
      ["c2", "unreachable"],
      ["c3", ""],
    ]);
    expect(body.members[2]!.store_error).toBe("no answer: Deadline exceeded");
    expect(body.warnings).toEqual([
      `c2 cannot reach etcd since ${new Date(NOW - 60_000).toISOString()} (etcd: no leader): it decides nothing and sends its agents to other members.`,
      expect.stringMatching(/^c3 at \S+ does not answer \(Deadline exceeded\): if it is down/),
    ]);
    // The members gone, for the page's LOST and left rows.
    expect((r.body as { gone: { id: string; left: boolean }[] }).gone.map((m) => [m.id, m.left])).toEqual([["c4", false]]);
    // The user's own token, never the controller's: RBAC on the other member is the user's.
    expect(tokens).toEqual(["Bearer bt1.user-token", "Bearer bt1.user-token"]);
  });
});
