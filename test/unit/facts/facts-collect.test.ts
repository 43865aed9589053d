import { describe, expect, it } from "vitest";
import { FACT_CALLS, collectFacts, collectFactsFrom } from "../../../agent/facts/facts.js";
import type { FactCall, FactsSource, NodeOsSnapshot } from "../../../agent/facts/facts.js";
import { TimeoutError } from "../../../agent/facts/within.js";
import * as fx from "./fixtures/si.js";

const nodeOs: NodeOsSnapshot = {
  hostname: "from-node-os",
  release: "6.18.44",
  arch: "x64",
  cpuCount: 2,
  cpuModel: "Intel(R) Xeon(R) Processor",
  totalmem: 25276502016,
  interfaces: fx.kvmNodeOsInterfaces,
};

function kvmSource(): FactsSource {
  return {
    osInfo: () => Promise.resolve(fx.kvmOsInfo),
    cpu: () => Promise.resolve(fx.kvmCpu),
    mem: () => Promise.resolve(fx.kvmMem),
    blockDevices: () => Promise.resolve(fx.kvmBlockDevices),
    diskLayout: () => Promise.resolve(fx.kvmDiskLayout),
    fsSize: () => Promise.resolve(fx.kvmFsSize),
    networkInterfaces: () => Promise.resolve(fx.kvmNetworkInterfaces),
    system: () => Promise.resolve(fx.kvmSystem),
    nodeOs: () => nodeOs,
  };
}

const never = (): Promise<unknown> => new Promise<unknown>(() => undefined);

describe("collectFactsFrom", () => {
  it("assembles every fact from a healthy source", async () => {
    const facts = await collectFactsFrom(kvmSource(), { agentVersion: "1.2.3" });
    expect(facts).toMatchObject({
      hostname: "vm", // si wins over node:os
      os_distro: "Debian GNU/Linux",
      cpu_model: "Intel Xeon® Processor",
      cpu_cores: 2,
      cpu_speed_ghz: 0,
      memory_total_bytes: 25276502016,
      virtual: true,
      hypervisor: "KVM",
      agent_version: "1.2.3",
    });
    expect(facts.disks).toHaveLength(1);
    expect(facts.filesystems).toHaveLength(1);
    expect(facts.interfaces?.map((i) => i.name)).toStrictEqual(["lo", "eth0"]);
  });

  it("falls back to node:os when every si call fails, and says which ones", async () => {
    const missing: FactCall[] = [];
    const failing = kvmSource();
    for (const name of FACT_CALLS) failing[name] = () => Promise.reject(new Error(`${name} broke`));
    const facts = await collectFactsFrom(failing, {
      agentVersion: "1.2.3",
      onMissing: (call) => missing.push(call),
    });
    expect(missing.sort()).toStrictEqual([...FACT_CALLS].sort());
    expect(facts).toStrictEqual({
      hostname: "from-node-os",
      kernel: "6.18.44",
      arch: "x64",
      cpu_model: "Intel(R) Xeon(R) Processor",
      cpu_cores: 2,
      memory_total_bytes: 25276502016,
      disks: [],
      filesystems: [],
      interfaces: [
        { name: "lo", mac: "00:00:00:00:00:00", addresses: ["127.0.0.1", "::1"], internal: true },
        { name: "eth0", mac: "02:fc:00:00:00:01", addresses: ["192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1"], internal: false },
      ],
      agent_version: "1.2.3",
    });
  });

  it("a hanging call costs only its own fields, after the timeout", async () => {
    const source = kvmSource();
    source.fsSize = never;
    source.system = never;
    const reasons = new Map<FactCall, unknown>();
    const started = performance.now();
    const facts = await collectFactsFrom(source, {
      agentVersion: "x",
      timeoutMs: 50,
      onMissing: (call, reason) => reasons.set(call, reason),
    });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect([...reasons.keys()].sort()).toStrictEqual(["fsSize", "system"]);
    expect(reasons.get("fsSize")).toBeInstanceOf(TimeoutError);
    expect(facts.filesystems).toStrictEqual([]);
    expect(facts.virtual).toBeUndefined();
    expect(facts.hostname).toBe("vm");
    expect(facts.disks).toHaveLength(1);
  });

  it("survives calls that throw synchronously and a throwing node:os", async () => {
    const source = kvmSource();
    source.cpu = () => {
      throw new Error("sync");
    };
    source.nodeOs = () => {
      throw new Error("no os");
    };
    const facts = await collectFactsFrom(source, { agentVersion: "x" });
    expect(facts.cpu_model).toBeUndefined();
    expect(facts.hostname).toBe("vm");
  });

  it("survives si returning the wrong shapes", async () => {
    const source = kvmSource();
    for (const name of FACT_CALLS) source[name] = () => Promise.resolve("unexpected");
    const facts = await collectFactsFrom(source, { agentVersion: "x" });
    expect(facts.hostname).toBe("from-node-os");
    expect(facts.filesystems).toStrictEqual([]);
  });
});

describe("collectFacts on this machine", () => {
  it("returns the basic facts", async () => {
    const missing: FactCall[] = [];
    const facts = await collectFacts({ agentVersion: "0.0.0-test", onMissing: (call) => missing.push(call) });
    expect(missing).toStrictEqual([]);
    expect(facts.agent_version).toBe("0.0.0-test");
    expect(typeof facts.hostname).toBe("string");
    expect(facts.hostname).not.toBe("");
    expect(facts.cpu_cores).toBeGreaterThan(0);
    expect(facts.memory_total_bytes).toBeGreaterThan(0);
    expect(facts.filesystems?.length).toBeGreaterThan(0);
    expect(facts.interfaces?.length).toBeGreaterThan(0);
    for (const f of facts.filesystems ?? []) expect(f.size_bytes).toBeGreaterThan(0);
    expect(typeof facts.virtual).toBe("boolean");
    // This sandbox is a KVM guest, but the suite must pass on bare metal too.
    if (facts.virtual === true) expect(typeof facts.hypervisor).toBe("string");
    else expect(facts.hypervisor).toBeUndefined();
  });
});
