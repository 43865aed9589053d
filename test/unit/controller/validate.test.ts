import { describe, expect, it } from "vitest";
import { acceptUsage, usageSchema, validateAdvertiseAddr, validateDigests, validateFacts, validateLabels, validateUsage, ValidationError } from "../../../controller/member/api/validate.js";
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

  // The heartbeat's fast path (acceptUsage) must take exactly what the schema takes, and
  // give back the same object: every field against every awkward value, one at a time.
  it("accepts a usage sample by hand exactly when the schema does", () => {
    const odd: unknown[] = [0, -0, 1, 0.5, 100, 100.0001, -1, -0.0001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
      Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 2 ** 60, 1e-300, "1", "", null, undefined, true, false, {}, [], 10n];
    let compared = 0;
    for (const field of Object.keys(usage)) {
      for (const x of odd) {
        const v = { ...usage, [field]: x };
        const z = usageSchema.safeParse(v);
        const fast = acceptUsage(v);
        expect({ field, x: String(x), accepted: fast !== undefined }).toEqual({ field, x: String(x), accepted: z.success });
        if (z.success) expect(fast).toEqual(z.data);
        compared++;
      }
      const missing: Record<string, unknown> = { ...usage };
      delete missing[field];
      expect(acceptUsage(missing)).toBeUndefined();
      expect(usageSchema.safeParse(missing).success).toBe(false);
    }
    expect(compared).toBe(8 * odd.length);
    for (const v of [null, undefined, 1, "x", [], [usage]]) {
      expect(acceptUsage(v)).toBeUndefined();
      expect(usageSchema.safeParse(v).success).toBe(false);
    }
    // Unknown keys are dropped, as zod drops them; the result is a new object.
    const extra = { ...usage, extra: "x" };
    expect(acceptUsage(extra)).toEqual(usage);
    expect(acceptUsage(usage)).not.toBe(usage);
  });

  it("still names what is wrong in a usage sample the fast path refuses", () => {
    expect(() => validateUsage({ ...usage, memory_used_bytes: -1 }, "heartbeat.usage")).toThrow(/heartbeat\.usage\.memory_used_bytes/);
    expect(() => validateUsage({ ...usage, load15: Number.POSITIVE_INFINITY }, "heartbeat.usage")).toThrow(/heartbeat\.usage\.load15/);
    expect(() => validateUsage({ ...usage, disk_total_bytes: 1.5 }, "heartbeat.usage")).toThrow(/heartbeat\.usage\.disk_total_bytes/);
  });

  it("checks artifact digests with one schema, call after call", () => {
    const d = "a".repeat(64);
    expect(validateDigests([d], "hello.artifacts")).toEqual([d]);
    expect(validateDigests([d, d], "hello.artifacts")).toEqual([d, d]);
    expect(() => validateDigests(["nope"], "hello.artifacts")).toThrow(/hello\.artifacts\.0: must be a sha256 in hex/);
    expect(() => validateDigests(Array.from({ length: 1025 }, () => d), "hello.artifacts")).toThrow(/hello\.artifacts/);
  });
});
