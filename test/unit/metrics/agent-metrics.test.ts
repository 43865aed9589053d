import { describe, expect, it } from "vitest";
import { AgentMetrics, stateSeries, type AgentInstanceSnapshot } from "../../../agent/metrics.js";
import { parseExposition, select, value } from "../../cluster/harness/prometheus.js";

describe("agent metrics", () => {
  it("one series per state, the current one 1; none on a spare", () => {
    const s = stateSeries({ service: "web", instance: "web-0", state: "healthy", restarts: 0 });
    expect(s).toHaveLength(9);
    expect(s.filter((x) => x.value === 1).map((x) => x.labels.state)).toEqual(["healthy"]);
    expect(stateSeries(undefined)).toEqual([]);
  });

  it("reads the instance and the connection at scrape time", async () => {
    let inst: AgentInstanceSnapshot | undefined = { service: "web", instance: "web-1", state: "installing", restarts: 0 };
    let connected = false;
    const m = new AgentMetrics({ instance: () => inst, connected: () => connected });
    let e = parseExposition(await m.registry.metrics());
    expect(value(e, "berth_agent_connected")).toBe(0);
    expect(value(e, "berth_agent_instance_state", { instance: "web-1", state: "installing" })).toBe(1);
    expect(value(e, "berth_agent_instance_state", { instance: "web-1", state: "healthy" })).toBe(0);
    expect(value(e, "berth_agent_instance_restarts_total", { service: "web", instance: "web-1" })).toBe(0);
    inst = { ...inst, state: "healthy", restarts: 3 };
    connected = true;
    e = parseExposition(await m.registry.metrics());
    expect(value(e, "berth_agent_connected")).toBe(1);
    expect(value(e, "berth_agent_instance_state", { instance: "web-1", state: "healthy" })).toBe(1);
    expect(value(e, "berth_agent_instance_restarts_total", { instance: "web-1" })).toBe(3);
    inst = undefined;
    e = parseExposition(await m.registry.metrics());
    expect(select(e, "berth_agent_instance_state")).toHaveLength(0);
    expect(select(e, "berth_agent_instance_restarts_total")).toHaveLength(0);
  });

  it("counts reconnects after the first stream, heartbeat round trips and installs", async () => {
    const m = new AgentMetrics({ instance: () => undefined, connected: () => true });
    m.connected();
    let e = parseExposition(await m.registry.metrics());
    expect(value(e, "berth_agent_stream_reconnects_total")).toBe(0);
    m.connected();
    m.connected();
    m.heartbeatAck(2);
    m.heartbeatAck(-1);
    m.installed({ outcome: "installed", seconds: 12 });
    m.installed({ outcome: "skipped", seconds: 0.001 });
    e = parseExposition(await m.registry.metrics());
    expect(value(e, "berth_agent_stream_reconnects_total")).toBe(2);
    expect(value(e, "berth_agent_heartbeat_rtt_seconds_count")).toBe(2);
    expect(value(e, "berth_agent_heartbeat_rtt_seconds_sum")).toBeCloseTo(0.002);
    expect(value(e, "berth_agent_install_duration_seconds_count", { outcome: "installed" })).toBe(1);
    expect(value(e, "berth_agent_install_duration_seconds_bucket", { outcome: "installed", le: "10" })).toBe(0);
    expect(value(e, "berth_agent_install_duration_seconds_count", { outcome: "skipped" })).toBe(1);
  });
});
