/**
 * Issue 6, metrics: a real fleet, /metrics of the controller and of agents
 * scraped over HTTP and parsed strictly; the numbers agree with what the CLI
 * says (berth hosts, berth services, berth status), and a failover is counted.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Cluster, type HostJson, type StatusJson } from "./harness/cluster.js";
import { parseExposition, select, total, value, type Exposition } from "./harness/prometheus.js";
import { waitFor } from "./harness/wait.js";
import { svcSpec } from "./harness/specs.js";
import { tearDownWith } from "./harness/teardown.js";

const HOSTS = 4;

const spec = svcSpec("web", { instances: 2 });

interface ServiceJson {
  name: string;
  desired: number;
  healthy: number;
}

function countBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

describe("metrics: /metrics of the controller and the agents agree with the CLI", () => {
  let c: Cluster;
  const ids: string[] = [];
  const indexOf = (hostId: string): number => ids.indexOf(hostId) + 1;
  const controller = async (): Promise<Exposition> => parseExposition(await c.scrape(c.controllerMetricsUrl));
  const agent = async (i: number): Promise<Exposition> => parseExposition(await c.scrape(c.agentMetricsUrl(i)));

  /** Host counts by status from the scrape and from `berth hosts -o json`, taken until they agree (nothing is moving). */
  async function hostsAgree(): Promise<{ e: Exposition; hosts: HostJson[] }> {
    return waitFor(async () => {
      const e = await controller();
      const hosts = await c.hosts();
      const cli = countBy(hosts, (h) => h.status);
      for (const status of ["joining", "ready", "cordoned", "draining", "down"]) {
        if (value(e, "berth_hosts", { status }) !== (cli.get(status) ?? 0)) return undefined;
      }
      return { e, hosts };
    }, { timeoutMs: 15_000, intervalMs: 250, what: "berth_hosts to match berth hosts -o json" });
  }

  async function instancesAgree(): Promise<{ e: Exposition; st: StatusJson; services: ServiceJson[] }> {
    return waitFor(async () => {
      const e = await controller();
      const st = await c.status("web");
      const services = await c.cliJson<ServiceJson[]>(["services"]);
      const cli = countBy(st.instances, (i) => i.state);
      const states = new Set([...cli.keys(), ...select(e, "berth_instances", { service: "web" }).map((s) => s.labels.state!)]);
      for (const state of states) if (value(e, "berth_instances", { service: "web", state }) !== (cli.get(state) ?? 0)) return undefined;
      const svc = services.find((s) => s.name === "web");
      if (!svc || value(e, "berth_instances", { service: "web", state: "healthy" }) !== svc.healthy) return undefined;
      if (value(e, "berth_instances_desired", { service: "web" }) !== svc.desired) return undefined;
      return { e, st, services };
    }, { timeoutMs: 15_000, intervalMs: 250, what: "berth_instances to match berth status / berth services" });
  }

  beforeAll(async () => {
    c = await Cluster.start({ hosts: HOSTS, ttl: "3s", heartbeat: "500ms" });
    for (let i = 1; i <= HOSTS; i++) ids.push(await c.hostIdOf(i));
    const dir = await c.specDir("web", { "web.yaml": spec });
    const r = await c.apply(dir);
    if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
    await c.waitForStatus("web", (s) => s.instances.filter((i) => i.state === "healthy").length === 2, "2 healthy web instances");
  });
  tearDownWith(() => c);

  it("the controller's host and instance counts match berth hosts, berth services and berth status", async () => {
    // A cordoned spare, so more than one status is counted.
    const st = await c.status("web");
    const spare = ids.find((id) => !st.instances.some((i) => i.host === id))!;
    expect((await c.cli(["cordon", spare])).code).toBe(0);
    const { e, hosts } = await hostsAgree();
    expect(value(e, "berth_hosts", { status: "ready" })).toBe(HOSTS - 1);
    expect(value(e, "berth_hosts", { status: "cordoned" })).toBe(1);
    expect(total(e, "berth_hosts")).toBe(hosts.length);
    expect(value(e, "berth_hosts_connected")).toBe(hosts.filter((h) => h.connected).length);

    const { e: e2, st: st2 } = await instancesAgree();
    expect(value(e2, "berth_instances", { service: "web", state: "healthy" })).toBe(2);
    expect(total(e2, "berth_instances", { service: "web" })).toBe(st2.instances.length);
    expect(value(e2, "berth_instances_desired", { service: "web" })).toBe(2);
    expect(value(e2, "berth_rollouts_in_progress")).toBe(0);
    expect(value(e2, "berth_failover_paused")).toBe(0);
    expect(value(e2, "berth_reconcile_events_total", { type: "instance.placed" })).toBe(2);
    expect(value(e2, "berth_build_info", { component: "controller" })).toBe(1);
    expect(e2.types.get("process_resident_memory_bytes")).toBe("gauge");
    expect(value(e2, "berth_heartbeat_latency_seconds_count")).toBeGreaterThan(0);
    expect(value(e2, "berth_heartbeat_gap_seconds_count")).toBeGreaterThan(0);
    expect((await c.cli(["uncordon", spare])).code).toBe(0);
  });

  it("gRPC calls are counted by method and status code, and unary calls timed", async () => {
    const missing = await c.cli(["status", "wbe"]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('no service "wbe"; did you mean "web"?');
    // A host id with a typo (the last character changed) gets the closest id, as services do.
    const typo = ids[0]!.slice(0, -1) + (ids[0]!.endsWith("0") ? "1" : "0");
    const cordon = await c.cli(["cordon", typo]);
    expect(cordon.code).toBe(5);
    expect(cordon.stderr).toContain(`did you mean "${ids[0]}"`);
    const op = { grpc_service: "berth.v1.OperatorService" };
    // A scrape within CACHE_MS (1 s) of the last one is served that one's text: wait for a collection made after the calls.
    const e = await waitFor(
      async () => {
        const x = await controller();
        return select(x, "berth_grpc_server_handled_total", { ...op, grpc_method: "Cordon", grpc_code: "NOT_FOUND" }).length > 0 ? x : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, what: "a scrape that counts the calls just made" },
    );
    expect(value(e, "berth_grpc_server_handled_total", { ...op, grpc_method: "GetService", grpc_code: "NOT_FOUND" })).toBe(1);
    expect(value(e, "berth_grpc_server_handled_total", { ...op, grpc_method: "Cordon", grpc_code: "NOT_FOUND" })).toBe(1);
    expect(value(e, "berth_grpc_server_handled_total", { ...op, grpc_method: "ListHosts", grpc_code: "OK" })).toBeGreaterThan(0);
    expect(value(e, "berth_grpc_server_handling_seconds_count", { ...op, grpc_method: "ListHosts" })).toBeGreaterThan(0);
    expect(value(e, "berth_grpc_server_handled_total", { ...op, grpc_method: "Apply", grpc_code: "OK" })).toBe(1);
    // One Join per host, and a Connect stream per agent still open (started, not handled).
    const agentSvc = { grpc_service: "berth.v1.AgentService" };
    expect(value(e, "berth_grpc_server_handled_total", { ...agentSvc, grpc_method: "Join", grpc_code: "OK" })).toBe(HOSTS);
    expect(value(e, "berth_grpc_server_started_total", { ...agentSvc, grpc_method: "Connect", grpc_type: "bidi_stream" })).toBeGreaterThanOrEqual(HOSTS);
  });

  it("instances that wait are counted by kind, as status gives it: two no host can take, then none once the service is gone", async () => {
    const dir = await c.specDir("nowhere", { "nowhere.yaml": svcSpec("nowhere", { instances: 2, extra: "constraints: { dc: nowhere }\n" }) });
    expect((await c.apply(dir)).code).toBe(0);
    try {
      await c.waitForStatus("nowhere", (s) => s.instances.filter((i) => i.waiting === "unplaced").length === 2, "both copies unplaced");
      const e = await waitFor(async () => {
        const x = await controller();
        return value(x, "berth_instances_waiting", { service: "nowhere", kind: "unplaced" }) === 2 ? x : undefined;
      }, { timeoutMs: 15_000, intervalMs: 250, what: "berth_instances_waiting to count both" });
      expect(value(e, "berth_instances_waiting", { service: "nowhere", kind: "backoff" })).toBe(0);
      expect(total(e, "berth_instances_waiting", { service: "web" })).toBe(0);
    } finally {
      expect((await c.cli(["delete", "nowhere"])).code).toBe(0);
    }
    await waitFor(async () => (select(await controller(), "berth_instances_waiting", { service: "nowhere" }).length === 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 250, what: "the deleted service's series to go" });
  });

  it("an agent reports its instance as berth status does, and its heartbeats, install and connection", async () => {
    const st = await c.status("web");
    const inst = st.instances[0]!;
    const e = await agent(indexOf(inst.host));
    expect(value(e, "berth_agent_connected")).toBe(1);
    expect(value(e, "berth_agent_instance_state", { service: "web", instance: inst.instance, state: inst.state })).toBe(1);
    expect(total(e, "berth_agent_instance_state", { instance: inst.instance })).toBe(1);
    expect(value(e, "berth_agent_instance_restarts_total", { service: "web", instance: inst.instance })).toBe(inst.restarts);
    expect(total(e, "berth_agent_install_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(value(e, "berth_agent_heartbeat_rtt_seconds_count")).toBeGreaterThan(0);
    expect(value(e, "berth_agent_stream_reconnects_total")).toBe(0);
    expect(value(e, "berth_build_info", { component: "agent" })).toBe(1);
    // A spare has no instance series at all.
    const spare = ids.find((id) => !st.instances.some((i) => i.host === id))!;
    const se = await agent(indexOf(spare));
    expect(select(se, "berth_agent_instance_state")).toHaveLength(0);
    expect(value(se, "berth_agent_connected")).toBe(1);
  });

  it("a host lost with its instance is counted as a failover, and as down", async () => {
    const st = await c.status("web");
    const victim = st.instances[0]!;
    await c.topo.killHost(indexOf(victim.host));
    await c.waitForStatus("web", (s) => s.instances.filter((i) => i.state === "healthy").length === 2 && !s.instances.some((i) => i.host === victim.host), "web replaced on a spare", 60_000);
    const { e } = await hostsAgree();
    expect(value(e, "berth_hosts", { status: "down" })).toBe(1);
    const { e: e2 } = await instancesAgree();
    expect(value(e2, "berth_failovers_total")).toBe(1);
    expect(value(e2, "berth_reconcile_events_total", { type: "instance.lost" })).toBe(1);
    // The two first placements, and the replacement's.
    expect(value(e2, "berth_reconcile_events_total", { type: "instance.placed" })).toBe(3);
  });
});
