import { describe, expect, it } from "vitest";
import { validateAdvertiseAddr, validateFacts, validateLabels, validateUsage, ValidationError } from "../../../controller/member/api/validate.js";
import { mapNodeOs, readNodeOs } from "../../../agent/facts/facts.js";

const usage = { load1: 0.5, load5: 0.4, load15: 0.3, cpu_percent: 12, memory_used_bytes: 1, memory_total_bytes: 2, disk_used_bytes: 3, disk_total_bytes: 4 };

function fullFacts(): Record<string, unknown> {
  return {
    hostname: "h", os_distro: "", os_release: "", kernel: "", arch: "x64", cpu_model: "", cpu_cores: 2, cpu_physical_cores: 2,
    cpu_speed_ghz: 0, memory_total_bytes: 1, disks: [], filesystems: [], interfaces: [], virtual: false, hypervisor: "",
    system_vendor: "", system_model: "", agent_version: "0.1.0", ...mapNodeOs(readNodeOs()),
  };
}

describe("agent message validation", () => {
  it("accepts real facts and usage", () => {
    expect(validateFacts(fullFacts()).cpu_cores).toBeGreaterThan(0);
    expect(validateUsage(usage)).toEqual(usage);
  });

  it("names each field that is out of bounds", () => {
    const bad = { ...fullFacts(), hostname: "x".repeat(300), interfaces: Array.from({ length: 300 }, () => ({ name: "e", mac: "", addresses: [], internal: false })) };
    try {
      validateFacts(bad, "hello.facts");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).problems.join("\n")).toMatch(/hello\.facts\.hostname/);
      expect((e as ValidationError).problems.join("\n")).toMatch(/hello\.facts\.interfaces/);
    }
    expect(() => validateUsage({ ...usage, cpu_percent: 250 })).toThrow(/usage\.cpu_percent/);
    expect(() => validateUsage({ ...usage, load1: Number.NaN })).toThrow(/usage\.load1/);
  });

  it("checks labels and the advertise address", () => {
    expect(validateLabels({ dc: "dc1" })).toEqual({ dc: "dc1" });
    expect(() => validateLabels({ "Bad Key": "x" })).toThrow(/Bad Key/);
    expect(validateAdvertiseAddr("10.1.2.3")).toBe("10.1.2.3");
    expect(validateAdvertiseAddr("")).toBe("");
    expect(() => validateAdvertiseAddr("evil.example; rm -rf /")).toThrow(/advertise_addr/);
  });
});
