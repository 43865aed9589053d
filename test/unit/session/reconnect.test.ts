/**
 * The agent's session against a controller that goes away and comes back on the
 * same address (real gRPC, mutual TLS, loopback): the session's own backoff decides
 * when it dials again. gRPC's channel has a reconnect backoff of its own (up to 2 s)
 * during which a call fails at once without dialling; a restarted controller gives
 * its hosts one TTL of grace, so an agent that waited for both could be declared
 * down (and its instance failed over) though it was fine.
 */
import "reflect-metadata";
import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadProtos } from "../../../shared/proto.js";
import { CONTROLLER_TLS_NAME, createCa, createKeyAndCsr, createServerCert, grpcServerCredentials, signHostCsr, type CertAndKey } from "../../../shared/tls/pki.js";
import type { AgentServiceHandlers } from "../../../shared/gen/berth/v1/AgentService.js";
import type { AgentMessage__Output } from "../../../shared/gen/berth/v1/AgentMessage.js";
import { AgentSession } from "../../../agent/session/session.js";
import { saveIdentity } from "../../../agent/identity.js";
import { until } from "../until.js";

const HOST_ID = "h0123456789ab";

let ca: CertAndKey;
let serverCert: CertAndKey;
let hostCert: CertAndKey;

beforeAll(async () => {
  ca = await createCa();
  serverCert = await createServerCert(ca, { dnsNames: [CONTROLLER_TLS_NAME], ips: ["127.0.0.1"] });
  const { keyPem, csrPem } = await createKeyAndCsr("h");
  hostCert = { certPem: await signHostCsr(ca, csrPem, HOST_ID), keyPem };
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A controller stand-in on `port` (0: any) that welcomes the agent and acks its heartbeats. */
async function controller(port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const handlers: Partial<AgentServiceHandlers> = {
    Connect: (call) => {
      call.on("data", (msg: AgentMessage__Output) => {
        if (msg.msg === "hello") call.write({ welcome: { host_id: HOST_ID, heartbeat_interval_ms: 200, ttl_ms: 2000 } });
        else if (msg.msg === "heartbeat" && msg.heartbeat) call.write({ heartbeat_ack: { seq: msg.heartbeat.seq, sent_at_ms: msg.heartbeat.sent_at_ms } });
      });
      call.on("error", () => undefined);
      call.on("end", () => call.end());
    },
  };
  server.addService(loadProtos().agent.berth.v1.AgentService.service, handlers as AgentServiceHandlers);
  const bound = await new Promise<number>((res, rej) => server.bindAsync(`127.0.0.1:${port}`, grpcServerCredentials(ca.certPem, serverCert.certPem, serverCert.keyPem), (e, p) => (e ? rej(e) : res(p))));
  // Forced: the agent's stream would hold a graceful shutdown open.
  cleanups.push(async () => server.forceShutdown());
  return { server, port: bound };
}

describe("agent session reconnecting", () => {
  it("dials a controller that is back on its own backoff, not gRPC's: within a few hundred ms, each time", async () => {
    let c = await controller(0);
    const addr = `127.0.0.1:${c.port}`;
    const dataDir = await mkdtemp(join(tmpdir(), "berth-reconnect-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await saveIdentity(dataDir, { hostId: HOST_ID, controller: addr, certPem: hostCert.certPem, keyPem: hostCert.keyPem, caPem: ca.certPem });
    // The session retries every 20–100 ms; gRPC's channel alone would wait up to 2 s.
    const s = new AgentSession({ dataDir, controllers: [addr], labels: {}, log: pino({ level: "silent" }), facts: () => ({ hostname: "h" }), usage: () => ({}), backoff: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 } });
    let connects = 0;
    let failures = 0;
    s.on("connected", () => void connects++);
    s.on("disconnected", () => void failures++);
    await s.start();
    cleanups.push(() => s.stop());
    await until(() => connects === 1, "the agent connected");
    const delays: number[] = [];
    // Three times: the controller goes away long enough for gRPC's backoff to reach
    // its cap (0.2, 0.4, 0.8, 1.6, 2 s), then comes back on the same address.
    for (let round = 0; round < 3; round++) {
      c.server.forceShutdown();
      const lostAt = Date.now();
      await until(() => Date.now() - lostAt > 3500 && failures > 10 * (round + 1), "the agent failing to reach the controller for a while", 20_000);
      const before = connects;
      c = await controller(c.port);
      const backAt = Date.now();
      await until(() => connects > before, "the agent back on the controller", 10_000, 5);
      delays.push(Date.now() - backAt);
    }
    expect(delays.every((d) => d < 700), `reconnect delays ${delays.join(", ")} ms`).toBe(true);
  }, 60_000);
});
