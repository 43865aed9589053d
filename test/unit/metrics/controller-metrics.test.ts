import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { ControllerMetrics, countHosts, countInstances, grpcType, splitGrpcPath, type ControllerMetricsSources } from "../../../controller/metrics.js";
import { effectiveState } from "../../../controller/services/effective-state.js";
import type { InstanceRecord, ObservedInstance } from "../../../controller/services/records.js";
import { parseExposition, select, total, value, type Exposition } from "../../cluster/harness/prometheus.js";

const scrape = async (m: ControllerMetrics): Promise<Exposition> => parseExposition(await m.registry.metrics());

function sources(over: Partial<ControllerMetricsSources> = {}): ControllerMetricsSources {
  return {
    hosts: () => [
      { status: "ready", connected: true },
      { status: "ready", connected: true },
      { status: "cordoned", connected: true },
      { status: "down", connected: false },
    ],
    instances: () => [
      { service: "web", state: "healthy" },
      { service: "web", state: "healthy" },
      { service: "web", state: "lost" },
      { service: "db", state: "installing" },
    ],
    services: () => [
      { name: "web", instances: 3 },
      { name: "db", instances: 1 },
      { name: "empty", instances: 0 },
    ],
    ...over,
  };
}

describe("controller metrics: pure parts", () => {
  it("counts hosts per status, every status present", () => {
    expect(Object.fromEntries(countHosts([{ status: "ready" }, { status: "ready" }, { status: "draining" }]))).toEqual({ joining: 0, ready: 2, cordoned: 0, draining: 1, down: 0 });
  });

  it("counts instances per service and state, services without instances too", () => {
    const m = countInstances([{ name: "a" }, { name: "b" }], [{ service: "a", state: "healthy" }, { service: "a", state: "pending" }, { service: "a", state: "healthy" }]);
    expect(m.get("a")?.get("healthy")).toBe(2);
    expect(m.get("a")?.get("pending")).toBe(1);
    expect(m.get("a")?.get("lost")).toBe(0);
    expect([...m.get("b")!.values()].every((n) => n === 0)).toBe(true);
    expect(m.get("b")!.size).toBe(11); // the nine reported states, lost and draining
  });

  it("names gRPC methods and their kind", () => {
    expect(splitGrpcPath("/berth.v1.OperatorService/ListHosts")).toEqual({ service: "berth.v1.OperatorService", method: "ListHosts" });
    expect(splitGrpcPath("weird")).toEqual({ service: "unknown", method: "weird" });
    expect(grpcType({ requestStream: false, responseStream: false })).toBe("unary");
    expect(grpcType({ requestStream: true, responseStream: true })).toBe("bidi_stream");
    expect(grpcType({ requestStream: false, responseStream: true })).toBe("server_stream");
    expect(grpcType({ requestStream: true, responseStream: false })).toBe("client_stream");
  });

  it("derives an instance's state as berth status shows it", () => {
    const inst: InstanceRecord = { service: "web", slot: 0, hostId: "h1", epoch: 2, revision: 1, pinnedHost: "", moveTo: null };
    const obs = (o: Partial<ObservedInstance>): Map<string, ObservedInstance> =>
      new Map([["h1", { hostId: "h1", service: "web", instance: "web-0", epoch: 2, revision: 1, state: "healthy", detail: "", restarts: 0, sinceMs: 0, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "", ...o }]]);
    expect(effectiveState({ ...inst, hostId: "" }, undefined, obs({})).state).toBe("pending");
    expect(effectiveState(inst, { health: "down" }, obs({})).state).toBe("lost");
    expect(effectiveState(inst, { health: "ready" }, obs({})).state).toBe("healthy");
    expect(effectiveState(inst, { health: "ready" }, obs({ epoch: 1 })).state).toBe("pending"); // an older copy's report
    expect(effectiveState(inst, { health: "ready" }, new Map()).state).toBe("pending");
  });
});

describe("controller metrics: the registry", () => {
  it("computes gauges from the sources at scrape time", async () => {
    let hosts = sources().hosts();
    const m = new ControllerMetrics(sources({ hosts: () => hosts }));
    let e = await scrape(m);
    expect(value(e, "berth_hosts", { status: "ready" })).toBe(2);
    expect(value(e, "berth_hosts", { status: "cordoned" })).toBe(1);
    expect(value(e, "berth_hosts", { status: "down" })).toBe(1);
    expect(value(e, "berth_hosts", { status: "joining" })).toBe(0);
    expect(value(e, "berth_hosts_connected")).toBe(3);
    expect(value(e, "berth_instances", { service: "web", state: "healthy" })).toBe(2);
    expect(value(e, "berth_instances", { service: "web", state: "lost" })).toBe(1);
    expect(value(e, "berth_instances", { service: "db", state: "installing" })).toBe(1);
    expect(total(e, "berth_instances", { service: "empty" })).toBe(0);
    expect(select(e, "berth_instances", { service: "empty" })).toHaveLength(11);
    expect(value(e, "berth_instances_desired", { service: "web" })).toBe(3);
    expect(value(e, "berth_rollouts_in_progress")).toBe(0);
    expect(value(e, "berth_failover_paused")).toBe(0);
    // The next scrape sees the new state, with nothing left over from the last one.
    hosts = [{ status: "joining", connected: true }];
    e = await scrape(m);
    expect(value(e, "berth_hosts", { status: "ready" })).toBe(0);
    expect(value(e, "berth_hosts", { status: "joining" })).toBe(1);
  });

  it("counts waiting instances by service and kind, every kind of every service present", async () => {
    let waiting: { service: string; kind: "unplaced" | "backoff" | "held" }[] = [
      { service: "web", kind: "unplaced" },
      { service: "web", kind: "unplaced" },
      { service: "db", kind: "backoff" },
    ];
    const m = new ControllerMetrics(sources({ waiting: () => waiting }));
    let e = await scrape(m);
    expect(value(e, "berth_instances_waiting", { service: "web", kind: "unplaced" })).toBe(2);
    expect(value(e, "berth_instances_waiting", { service: "web", kind: "held" })).toBe(0);
    expect(value(e, "berth_instances_waiting", { service: "db", kind: "backoff" })).toBe(1);
    expect(select(e, "berth_instances_waiting", { service: "empty" })).toHaveLength(3);
    waiting = [];
    e = await scrape(m);
    expect(total(e, "berth_instances_waiting", { service: "web" })).toBe(0);
  });

  it("reads rollouts in progress from the callback it is given", async () => {
    let n = 2;
    const m = new ControllerMetrics(sources({ rolloutsInProgress: () => n, failoverPaused: () => true }));
    expect(value(await scrape(m), "berth_rollouts_in_progress")).toBe(2);
    n = 0;
    const e = await scrape(m);
    expect(value(e, "berth_rollouts_in_progress")).toBe(0);
    expect(value(e, "berth_failover_paused")).toBe(1);
  });

  it("reads what the etcd client saw of each endpoint at scrape time; none without etcd", async () => {
    const seen = [{ endpoint: "10.0.0.5:2379", unreachable: 0, silent: 2, leftOut: 2 }];
    const m = new ControllerMetrics(sources({ etcdEndpoints: () => seen }));
    let e = await scrape(m);
    expect(value(e, "berth_etcd_attempts_failed_total", { endpoint: "10.0.0.5:2379", reason: "silent" })).toBe(2);
    expect(value(e, "berth_etcd_attempts_failed_total", { endpoint: "10.0.0.5:2379", reason: "unreachable" })).toBe(0);
    expect(value(e, "berth_etcd_endpoint_left_out_total", { endpoint: "10.0.0.5:2379" })).toBe(2);
    seen[0]!.unreachable = 1;
    seen[0]!.leftOut = 3;
    e = await scrape(m);
    expect(value(e, "berth_etcd_attempts_failed_total", { endpoint: "10.0.0.5:2379", reason: "unreachable" })).toBe(1);
    expect(value(e, "berth_etcd_endpoint_left_out_total", { endpoint: "10.0.0.5:2379" })).toBe(3);
    expect(select(await scrape(new ControllerMetrics(sources())), "berth_etcd_endpoint_left_out_total")).toEqual([]);
  });

  it("counts committed reconcile events by type, and lost instances as failovers", async () => {
    const m = new ControllerMetrics(sources());
    m.reconciled([{ type: "instance.placed" }, { type: "instance.lost" }, { type: "instance.placed" }]);
    m.reconciled([{ type: "instance.lost" }]);
    const e = await scrape(m);
    expect(value(e, "berth_reconcile_events_total", { type: "instance.placed" })).toBe(2);
    expect(value(e, "berth_reconcile_events_total", { type: "instance.lost" })).toBe(2);
    expect(value(e, "berth_failovers_total")).toBe(2);
  });

  it("observes heartbeat latency and gaps, gap buckets sized by the cadence", async () => {
    const m = new ControllerMetrics(sources(), { heartbeatIntervalMs: 500 });
    m.heartbeat({ sentAtMs: 1000, receivedAtMs: 1002, previousMs: undefined });
    m.heartbeat({ sentAtMs: 1500, receivedAtMs: 1501, previousMs: 1002 });
    m.heartbeat({ sentAtMs: 2100, receivedAtMs: 2030, previousMs: 1501 }); // agent clock ahead: 0; gap 0.529 s
    const e = await scrape(m);
    expect(value(e, "berth_heartbeat_latency_seconds_count")).toBe(3);
    expect(value(e, "berth_heartbeat_latency_seconds_sum")).toBeCloseTo(0.003);
    expect(value(e, "berth_heartbeat_gap_seconds_count")).toBe(2);
    expect(value(e, "berth_heartbeat_gap_seconds_bucket", { le: "0.5" })).toBe(1);
    expect(value(e, "berth_heartbeat_gap_seconds_bucket", { le: "0.55" })).toBe(2);
  });

  it("two controllers in one process keep separate registries", async () => {
    const a = new ControllerMetrics(sources());
    const b = new ControllerMetrics(sources({ hosts: () => [] }));
    a.reconciled([{ type: "instance.lost" }]);
    expect(value(await scrape(a), "berth_failovers_total")).toBe(1);
    expect(value(await scrape(b), "berth_failovers_total")).toBe(0);
    expect(value(await scrape(b), "berth_hosts", { status: "ready" })).toBe(0);
  });
});

describe("controller metrics: the gRPC interceptor", () => {
  let server: grpc.Server | undefined;
  let client: grpc.Client | undefined;
  afterEach(() => {
    client?.close();
    server?.forceShutdown();
  });

  it("counts every call with its real final status, and times unary calls", async () => {
    const id = (b: Buffer): Buffer => b;
    const def = {
      Echo: { path: "/test.v1.T/Echo", requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
      Watch: { path: "/test.v1.T/Watch", requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
    };
    const m = new ControllerMetrics(sources());
    server = new grpc.Server({ interceptors: [m.grpcInterceptor] });
    server.addService(def, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        call.request.length ? cb(null, call.request) : cb(Object.assign(new Error("empty"), { code: grpc.status.NOT_FOUND })),
      Watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        call.write(Buffer.from("x"));
        call.end();
      },
    });
    const port = await new Promise<number>((res, rej) => server!.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))));
    const Client = grpc.makeGenericClientConstructor(def, "T");
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const c = client as unknown as {
      Echo(req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
      Watch(req: Buffer): grpc.ClientReadableStream<Buffer>;
    };
    const echo = (b: Buffer): Promise<number> => new Promise((res) => c.Echo(b, (err) => res(err ? err.code : 0)));
    expect(await echo(Buffer.from("hi"))).toBe(0);
    expect(await echo(Buffer.from("hi"))).toBe(0);
    expect(await echo(Buffer.alloc(0))).toBe(grpc.status.NOT_FOUND);
    await new Promise<void>((res, rej) => {
      const s = c.Watch(Buffer.from("w"));
      s.on("data", () => undefined);
      s.on("end", () => res());
      s.on("error", rej);
    });
    const e = await scrape(m);
    const echoL = { grpc_service: "test.v1.T", grpc_method: "Echo", grpc_type: "unary" };
    expect(value(e, "berth_grpc_server_started_total", echoL)).toBe(3);
    expect(value(e, "berth_grpc_server_handled_total", { ...echoL, grpc_code: "OK" })).toBe(2);
    expect(value(e, "berth_grpc_server_handled_total", { ...echoL, grpc_code: "NOT_FOUND" })).toBe(1);
    expect(value(e, "berth_grpc_server_handling_seconds_count", echoL)).toBe(3);
    const watchL = { grpc_service: "test.v1.T", grpc_method: "Watch", grpc_type: "server_stream" };
    expect(value(e, "berth_grpc_server_handled_total", { ...watchL, grpc_code: "OK" })).toBe(1);
    expect(select(e, "berth_grpc_server_handling_seconds_count", watchL)).toHaveLength(0);
  });
});
