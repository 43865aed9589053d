import { afterEach, describe, expect, it } from "vitest";
import { Counter } from "prom-client";
import { MetricsListenError, newRegistry, parseMetricsAddr, serveMetrics, type MetricsServer } from "../../../shared/metrics/server.js";
import { parseExposition, value } from "../../cluster/harness/prometheus.js";

describe("parseMetricsAddr", () => {
  it("takes HOST:PORT, and off or empty as disabled", () => {
    expect(parseMetricsAddr("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseMetricsAddr("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(parseMetricsAddr("off")).toBeNull();
    expect(parseMetricsAddr("")).toBeNull();
    expect(parseMetricsAddr("  ")).toBeNull();
  });
  it("insists on a port (the default one would be gRPC's)", () => {
    expect(() => parseMetricsAddr("127.0.0.1")).toThrow(/HOST:PORT/);
    expect(() => parseMetricsAddr("127.0.0.1:99999")).toThrow(/port/);
  });
});

describe("serveMetrics", () => {
  const open: MetricsServer[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it("serves each registry's own metrics at /metrics, and nothing else", async () => {
    const a = newRegistry("controller");
    const b = newRegistry("agent");
    new Counter({ name: "only_in_a_total", help: "x", registers: [a] }).inc(2);
    const sa = await serveMetrics(a, { host: "127.0.0.1", port: 0 });
    const sb = await serveMetrics(b, { host: "127.0.0.1", port: 0 });
    open.push(sa, sb);
    const ra = await fetch(`http://127.0.0.1:${sa.address.port}/metrics`);
    expect(ra.status).toBe(200);
    expect(ra.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const ea = parseExposition(await ra.text());
    expect(value(ea, "only_in_a_total")).toBe(2);
    expect(value(ea, "berth_build_info", { component: "controller" })).toBe(1);
    expect(ea.types.get("process_cpu_user_seconds_total")).toBe("counter");
    expect(ea.types.get("nodejs_eventloop_lag_seconds")).toBe("gauge");
    const eb = parseExposition(await (await fetch(`http://127.0.0.1:${sb.address.port}/metrics`)).text());
    expect(eb.types.has("only_in_a_total")).toBe(false);
    expect(value(eb, "berth_build_info", { component: "agent" })).toBe(1);
    expect((await fetch(`http://127.0.0.1:${sa.address.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${sa.address.port}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("says so when the address is taken", async () => {
    const s = await serveMetrics(newRegistry("agent"), { host: "127.0.0.1", port: 0 });
    open.push(s);
    const err = await serveMetrics(newRegistry("agent"), s.address).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetricsListenError);
    expect((err as Error).message).toBe(`metrics address 127.0.0.1:${s.address.port} is in use`);
  });
});
