/**
 * The watch calls over real gRPC (an in-process server on loopback): a client
 * that cancels while its token is still being checked, or while the watch is
 * being set up, leaves no listener behind on the controller — and nothing is
 * written to its dead call.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { loadProtos } from "../../../shared/proto.js";
import type { OperatorServiceClient, OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import type { Principal } from "../../../controller/auth/token-service.js";
import type { ServiceRecord } from "../../../controller/services/records.js";
import { serviceHandlers, type ServiceHandlerDeps } from "../../../controller/member/api/service-handlers.js";
import { rolloutHandlers, type RolloutHandlerDeps } from "../../../controller/member/api/rollout-handlers.js";
import { operatorServiceHandlers, type OperatorServiceDeps } from "../../../controller/member/api/operator-service.js";
import type { Watcher, WatchEvent } from "../../../controller/store/store.js";
import { until } from "../until.js";

const svc: ServiceRecord = {
  name: "web",
  spec: normalizeSpec({ name: "web", run: { command: "x" }, instances: 1, health: { http: { port: 8080, path: "/healthz" } } }),
  revision: 1,
  createdAtMs: 0,
  updatedAtMs: 0,
};

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every continuation of an already settled promise run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

/** Fake controller parts that count what is registered on them. */
function fakes() {
  const passListeners = new Set<() => void>();
  const auths: { resolve: (p: Principal) => void }[] = [];
  const watches: { resolve: (w: Watcher) => void; closed: boolean }[] = [];
  let writesAfterCancel = 0;
  const deps = {
    log: pino({ level: "silent" }),
    now: () => 1_700_000_000_000,
    tokens: {
      authenticate: (): Promise<Principal> => {
        const d = deferred<Principal>();
        auths.push(d);
        return d.promise;
      },
    },
    registry: { all: () => [], live: new Map(), get: () => undefined },
    state: { service: (n: string) => (n === "web" ? svc : undefined), allServices: () => [svc], instancesOf: () => [], rollout: () => undefined },
    loop: {
      observed: new Map(),
      onPass: (fn: () => void) => {
        passListeners.add(fn);
        return () => void passListeners.delete(fn);
      },
    },
    service: (n: string) => {
      if (n !== "web") throw new Error("no such service");
      return svc;
    },
    events: { list: async () => [] },
    store: {
      revision: async () => 7,
      watch: (_prefix: string, _fn: (e: WatchEvent) => void): Promise<Watcher> => {
        const d = deferred<Watcher>();
        const entry = { resolve: d.resolve, closed: false };
        watches.push(entry);
        return d.promise;
      },
    },
  };
  return { deps, passListeners, auths, watches, writesAfterCancel: () => writesAfterCancel, countWrite: () => writesAfterCancel++ };
}

type Fakes = ReturnType<typeof fakes>;
type Method = "WatchEndpoints" | "WatchRollout" | "WatchEvents";

interface Rig {
  client: OperatorServiceClient;
  server: grpc.Server;
  cancelsSeen: () => number;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.client.close();
    await new Promise<void>((res) => r.server.tryShutdown(() => res()));
  }
});

async function start(f: Fakes): Promise<Rig> {
  const protos = loadProtos();
  const server = new grpc.Server();
  const d = f.deps as unknown as ServiceHandlerDeps & RolloutHandlerDeps & OperatorServiceDeps;
  const real = { ...serviceHandlers(d), ...rolloutHandlers(d), ...operatorServiceHandlers(d) };
  let cancels = 0;
  // The real handlers, on calls that also count what reaches them once cancelled.
  const observe = <Req, Res>(call: grpc.ServerWritableStream<Req, Res>): grpc.ServerWritableStream<Req, Res> => {
    call.on("cancelled", () => cancels++);
    const write = call.write.bind(call) as (m: unknown, cb?: () => void) => boolean;
    (call as unknown as { write: (m: unknown, cb?: () => void) => boolean }).write = (m, cb) => {
      if (call.cancelled) f.countWrite();
      return write(m, cb);
    };
    return call;
  };
  const handlers: Pick<OperatorServiceHandlers, Method> = {
    WatchEndpoints: (call) => real.WatchEndpoints(observe(call)),
    WatchRollout: (call) => real.WatchRollout(observe(call)),
    WatchEvents: (call) => real.WatchEvents(observe(call)),
  };
  server.addService(protos.operator.berth.v1.OperatorService.service, handlers as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const client = new protos.operator.berth.v1.OperatorService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const rig = { client, server, cancelsSeen: () => cancels };
  rigs.push(rig);
  return rig;
}

function open(rig: Rig, method: Method): grpc.ClientReadableStream<unknown> {
  const md = new grpc.Metadata();
  md.set("authorization", "Bearer token");
  const req = method === "WatchEvents" ? { after_seq: 0 } : { name: "web" };
  const s = (rig.client[method] as (r: unknown, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)(req, md);
  s.on("error", () => undefined); // CANCELLED, expected
  return s;
}

const viewer: Principal = { tokenId: "t1", role: "viewer" } as Principal;

describe("watch calls over gRPC: a cancel at any stage leaves nothing behind", () => {
  for (const method of ["WatchEndpoints", "WatchRollout", "WatchEvents"] as const) {
    it(`${method}: cancelled while the token is checked`, async () => {
      const f = fakes();
      const rig = await start(f);
      const s = open(rig, method);
      await until(() => f.auths.length === 1, "the token check to start");
      s.cancel();
      await until(() => rig.cancelsSeen() === 1, "the server to see the cancel");
      f.auths[0]!.resolve(viewer);
      await settle();
      expect(f.passListeners.size).toBe(0);
      expect(f.watches.length).toBe(0); // nothing was even started
      expect(f.writesAfterCancel()).toBe(0);
    });
  }

  it("WatchEvents: cancelled while its store watch is being set up", async () => {
    const f = fakes();
    const rig = await start(f);
    const s = open(rig, "WatchEvents");
    await until(() => f.auths.length === 1, "the token check to start");
    f.auths[0]!.resolve(viewer);
    await until(() => f.watches.length === 1, "the store watch to be asked for");
    s.cancel();
    await until(() => rig.cancelsSeen() === 1, "the server to see the cancel");
    let closed = false;
    f.watches[0]!.resolve({ close: () => (closed = true) });
    await until(() => closed, "the late store watch to be closed");
    await settle();
    expect(f.writesAfterCancel()).toBe(0);
  });

  for (const method of ["WatchEndpoints", "WatchRollout"] as const) {
    it(`${method}: cancelled while streaming unregisters, and nothing more is written`, async () => {
      const f = fakes();
      const rig = await start(f);
      const s = open(rig, method);
      const got: unknown[] = [];
      s.on("data", (m) => got.push(m));
      await until(() => f.auths.length === 1, "the token check to start");
      f.auths[0]!.resolve(viewer);
      await until(() => got.length === 1 && f.passListeners.size === 1, "the first view");
      s.cancel();
      await until(() => rig.cancelsSeen() === 1, "the server to see the cancel");
      await until(() => f.passListeners.size === 0, "the pass listener to be removed");
      await settle();
      expect(f.writesAfterCancel()).toBe(0);
    });
  }
});

describe("WatchEndpoints after this member stalled", () => {
  it("sends no list while the member's view settles, then the current one", async () => {
    const f = fakes();
    let settling = 60_000;
    const rig = await start({ ...f, deps: { ...f.deps, viewSettlingMs: () => settling } } as Fakes);
    const s = open(rig, "WatchEndpoints");
    const got: unknown[] = [];
    s.on("data", (m: unknown) => got.push(m));
    await until(() => f.auths.length === 1, "the token check");
    f.auths[0]!.resolve(viewer);
    await until(() => f.passListeners.size === 1, "the watch to start");
    for (const fn of f.passListeners) fn();
    await settle();
    expect(got).toEqual([]);
    settling = 0;
    for (const fn of f.passListeners) fn();
    await until(() => got.length === 1, "the list, once the view has settled");
    s.cancel();
  });
});
