/**
 * The agent's session against a controller group of fake members (real gRPC,
 * mutual TLS from one CA, on loopback): a member that says MoveOn is left for
 * another member, never redialled first; the preferred member is honoured when
 * it is one of the agent's; the identity is the same on every member.
 */
import "reflect-metadata";
import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadProtos } from "../../../shared/proto.js";
import { CONTROLLER_TLS_NAME, createCa, createKeyAndCsr, createServerCert, grpcServerCredentials, hostIdFromCert, peerCertificate, signHostCsr, type CertAndKey } from "../../../shared/tls/pki.js";
import type { AgentServiceHandlers } from "../../../shared/gen/berth/v1/AgentService.js";
import type { AgentMessage__Output } from "../../../shared/gen/berth/v1/AgentMessage.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import { AgentSession } from "../../../agent/session/session.js";
import { saveIdentity } from "../../../agent/identity.js";
import { until } from "../until.js";
import { monoMs } from "../../../shared/clock.js";

const HOST_ID = "h0123456789ab";

/** What a fake member does when an agent says Hello. */
type Script = (write: (m: ControllerMessage) => void) => void;

interface Member {
  addr: string;
  /** Host ids of the client certificates that connected, in order. */
  connects: string[];
  server: grpc.Server;
}

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

const welcome: ControllerMessage = { welcome: { host_id: HOST_ID, heartbeat_interval_ms: 200, ttl_ms: 2000 } };

async function member(script: Script, log: string[]): Promise<Member> {
  const connects: string[] = [];
  const server = new grpc.Server();
  const handlers: Partial<AgentServiceHandlers> = {
    Connect: (call) => {
      const cert = peerCertificate(call);
      connects.push(cert ? (hostIdFromCert(cert) ?? "?") : "none");
      log.push(m.addr);
      call.on("data", (msg: AgentMessage__Output) => {
        if (msg.msg === "hello") script((x) => call.write(x));
        else if (msg.msg === "heartbeat" && msg.heartbeat) call.write({ heartbeat_ack: { seq: msg.heartbeat.seq, sent_at_ms: msg.heartbeat.sent_at_ms } });
      });
      call.on("error", () => undefined);
      call.on("end", () => call.end());
    },
  };
  server.addService(loadProtos().agent.berth.v1.AgentService.service, handlers as AgentServiceHandlers);
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpcServerCredentials(ca.certPem, serverCert.certPem, serverCert.keyPem), (e, p) => (e ? rej(e) : res(p))));
  const m: Member = { addr: `127.0.0.1:${port}`, connects, server };
  cleanups.push(() => new Promise<void>((r) => server.tryShutdown(() => r())));
  return m;
}

async function session(members: Member[], o: { initialContactMs?: number } = {}): Promise<{ s: AgentSession; connected: string[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), "berth-moveon-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  // Joined long ago, with the first member: the identity holds the first member only.
  await saveIdentity(dataDir, { hostId: HOST_ID, controller: members[0]!.addr, certPem: hostCert.certPem, keyPem: hostCert.keyPem, caPem: ca.certPem });
  const s = new AgentSession({
    dataDir,
    controllers: members.map((m) => m.addr),
    // Fisher–Yates with draws just below 1 keeps the given order: a, b, c.
    random: () => 0.999999,
    labels: {},
    log: pino({ level: "silent" }),
    facts: () => ({ hostname: "h" }),
    usage: () => ({}),
    backoff: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 },
    ...(o.initialContactMs !== undefined ? { initialContactMs: o.initialContactMs } : {}),
  });
  const connected: string[] = [];
  s.on("connected", (c) => connected.push(c.member));
  await s.start();
  cleanups.push(() => s.stop());
  return { s, connected };
}

describe("agent session in a controller group", () => {
  it("leaves a member that says MoveOn for the next member, not the same one first, as the same host", async () => {
    const dials: string[] = [];
    const a = await member((w) => {
      w(welcome);
      w({ move_on: { reason: "this member lost etcd" } });
    }, dials);
    const b = await member((w) => w(welcome), dials);
    const c = await member((w) => w(welcome), dials);
    const { s, connected } = await session([a, b, c]);
    await until(() => connected.length === 2, "the agent on a second member");
    expect(connected).toEqual([a.addr, b.addr]);
    expect(s.member).toBe(b.addr);
    expect(dials).toEqual([a.addr, b.addr]);
    // The same identity on both members.
    expect(a.connects).toEqual([HOST_ID]);
    expect(b.connects).toEqual([HOST_ID]);
    expect(c.connects).toEqual([]);
  }, 30_000);

  it("goes to the preferred member when it is one of its own", async () => {
    const dials: string[] = [];
    const b = await member((w) => w(welcome), dials);
    const c = await member((w) => w(welcome), dials);
    const a = await member((w) => {
      w(welcome);
      w({ move_on: { reason: "go to c", preferred: c.addr } });
    }, dials);
    const { connected } = await session([a, b, c]);
    await until(() => connected.length === 2, "the agent on the preferred member");
    expect(connected).toEqual([a.addr, c.addr]);
    expect(b.connects).toEqual([]);
  }, 30_000);

  it("a MoveOn before Welcome moves the agent too; members that all send it away are dialled in turn, with backoff", async () => {
    const dials: string[] = [];
    const away: Script = (w) => w({ move_on: { reason: "not serving" } });
    const a = await member(away, dials);
    const b = await member(away, dials);
    const { s } = await session([a, b]);
    await until(() => dials.length >= 5, "several moves");
    // a, b, a, b …: never the same member twice in a row.
    for (let i = 1; i < dials.length; i++) expect(dials[i]).not.toBe(dials[i - 1]);
    expect(s.connected).toBe(false);
  }, 30_000);

  it("a lost member is followed by the next one: killing the member the agent is on moves it", async () => {
    const dials: string[] = [];
    const a = await member((w) => w(welcome), dials);
    const b = await member((w) => w(welcome), dials);
    const { connected } = await session([a, b]);
    await until(() => connected.length === 1, "the agent on a");
    a.server.forceShutdown();
    await until(() => connected.length === 2, "the agent on b");
    expect(connected).toEqual([a.addr, b.addr]);
  }, 30_000);

  // Self-fencing (failover.stopAfterDisconnect) counts from the last word of the controller.
  // A member cut off from etcd that sends the agent away is no such word: a member that has
  // etcd may lead and replace what this host runs. Sent away by every member of its list
  // for the store's loss, no member can decide: that is word enough.
  const storeLost: Script = (w) => w({ move_on: { reason: "this member cannot reach the store", store_unavailable: true } });

  it("a MoveOn for the store's loss from one member, another unreachable, is no word from the controller", async () => {
    const dials: string[] = [];
    const a = await member(storeLost, dials);
    const b = await member((w) => w(welcome), dials);
    b.server.forceShutdown();
    const { s } = await session([a, b], { initialContactMs: 1 });
    await until(() => dials.length >= 3, "several dials of a");
    expect(s.lastContactMs()).toBe(1);
  }, 30_000);

  it("sent away for the store's loss by every member of its list, the agent counts that as word, from the oldest answer of the round", async () => {
    const dials: string[] = [];
    const a = await member(storeLost, dials);
    const b = await member(storeLost, dials);
    const started = monoMs();
    const { s } = await session([a, b], { initialContactMs: 1 });
    await until(() => dials.length >= 2 && s.lastContactMs() > 1, "the round to count as contact");
    expect(s.lastContactMs()).toBeGreaterThanOrEqual(started);
    expect(s.lastContactMs()).toBeLessThanOrEqual(monoMs());
  }, 30_000);

  it("a MoveOn for another reason from every member is no word from the controller", async () => {
    const dials: string[] = [];
    const away: Script = (w) => w({ move_on: { reason: "not serving" } });
    const a = await member(away, dials);
    const b = await member(away, dials);
    const { s } = await session([a, b], { initialContactMs: 1 });
    await until(() => dials.length >= 4, "two rounds");
    expect(s.lastContactMs()).toBe(1);
  }, 30_000);
});
