import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDurationMs } from "../../../shared/duration.js";
import { labelProblems } from "../../../shared/labels.js";
import {
  LABEL_KEY,
  LABEL_VALUE,
  SPEC_DEFAULTS,
  exactDuration,
  normalizeSpec,
  toSpecInput,
  validateSpec,
} from "../../../shared/spec/schema.js";
import { SpecValidationError } from "../../../shared/spec/issues.js";
import { parseSpecFile } from "../../../shared/spec/parse.js";
import type { ServiceSpec } from "../../../shared/spec/types.js";
import { DESIGN_EXAMPLE } from "./fixtures.js";

describe("normalizeSpec", () => {
  it("turns DESIGN.md's example into the stored form", () => {
    const { spec, errors } = parseSpecFile(DESIGN_EXAMPLE, "web.yaml");
    expect(errors).toEqual([]);
    const expected: ServiceSpec = {
      name: "web",
      artifact: { kind: "stored", sha256: "", source: "./build/web" },
      install: { apt: ["nginx-light"], steps: [{ run: "./setup.sh", timeoutMs: 120_000 }] },
      run: {
        command: "./bin/web",
        args: ["--port", "8080"],
        env: { LOG_LEVEL: "info" },
        user: "www-data",
        stopSignal: "SIGTERM",
        stopTimeoutMs: 20_000,
      },
      secrets: {},
      secretFiles: {},
      resources: { cpu: 1, memoryMb: 512, diskMb: 1024 },
      instances: 3,
      constraints: { dc: ["dc1", "dc2"], disk: ["ssd"] },
      spread: "dc",
      health: {
        check: { kind: "http", port: 8080, path: "/healthz", status: 200 },
        intervalMs: 2000,
        timeoutMs: 1000,
        healthyThreshold: 1,
        unhealthyThreshold: 3,
      },
      update: {
        maxUnavailable: 1,
        maxSurge: 0,
        minHealthyTimeMs: 5000,
        healthyDeadlineMs: 60_000,
        progressDeadlineMs: 600_000,
        canary: 0,
        autoRevert: true,
        drainTimeMs: 5000,
      },
      failover: { enabled: true, stopAfterDisconnectMs: 0 },
    };
    expect(spec).toEqual(expected);
  });

  it("fills every default when only name and run.command are given", () => {
    expect(normalizeSpec({ name: "x", run: { command: "y" } })).toEqual({
      name: "x",
      artifact: null,
      install: { apt: [], steps: [] },
      run: { command: "y", args: [], env: {}, user: "", stopSignal: "SIGTERM", stopTimeoutMs: 20_000 },
      resources: { cpu: 0, memoryMb: 0, diskMb: 0 },
      secrets: {},
      secretFiles: {},
      instances: 1,
      constraints: {},
      spread: "",
      health: null,
      update: {
        maxUnavailable: 1,
        maxSurge: 0,
        minHealthyTimeMs: 5000,
        healthyDeadlineMs: 60_000,
        progressDeadlineMs: 600_000,
        canary: 0,
        autoRevert: true,
        drainTimeMs: 5000,
      },
      failover: { enabled: true, stopAfterDisconnectMs: 0 },
    } satisfies ServiceSpec);
  });

  it("fills the defaults inside blocks that are given in part", () => {
    const spec = normalizeSpec({
      name: "x",
      run: { command: "y" },
      install: { steps: [{ run: "make" }] },
      health: { tcp: { port: 9 } },
      instances: 2,
      update: { maxSurge: 2 },
    });
    expect(spec.install.steps).toEqual([{ run: "make", timeoutMs: 300_000 }]);
    expect(spec.health).toEqual({
      check: { kind: "tcp", port: 9 },
      intervalMs: 2000,
      timeoutMs: 1000,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    });
    expect(spec.update.maxSurge).toBe(2);
    expect(spec.update.maxUnavailable).toBe(SPEC_DEFAULTS.update.maxUnavailable);
    const http = normalizeSpec({ name: "x", run: { command: "y" }, health: { http: { port: 80 } } });
    expect(http.health?.check).toEqual({ kind: "http", port: 80, path: "/", status: 200 });
    const exec = normalizeSpec({ name: "x", run: { command: "y" }, health: { exec: { command: ["true"] } } });
    expect(exec.health?.check).toEqual({ kind: "exec", command: ["true"] });
  });

  it("takes YAML numbers and booleans as strings where strings are expected", () => {
    const spec = normalizeSpec({
      name: "x",
      run: { command: "y", args: ["--port", 8080, true], env: { PORT: 8080, DEBUG: false } },
      constraints: { rack: 7, zone: [1, "b"] },
      health: { exec: { command: ["nc", "-z", "localhost", 8080] } },
    });
    expect(spec.run.args).toEqual(["--port", "8080", "true"]);
    expect(spec.run.env).toEqual({ PORT: "8080", DEBUG: "false" });
    expect(spec.constraints).toEqual({ rack: ["7"], zone: ["1", "b"] });
    expect(spec.health?.check).toEqual({ kind: "exec", command: ["nc", "-z", "localhost", "8080"] });
  });

  it("keeps the text as written when it comes from YAML (1.10 is not 1.1)", () => {
    const { spec, errors } = parseSpecFile(
      "name: x\nrun:\n  command: y\n  args: [1.10, 0x10, True]\n  env: { VERSION: 1.10 }\n",
      "x.yaml",
    );
    expect(errors).toEqual([]);
    expect(spec?.run.args).toEqual(["1.10", "0x10", "True"]);
    expect(spec?.run.env).toEqual({ VERSION: "1.10" });
  });

  it("accepts a url artifact and lowercases its digest; 0 as a duration", () => {
    const sha = "AB".repeat(32);
    const spec = normalizeSpec({
      name: "x",
      artifact: { url: "https://example.org/x.tgz", sha256: sha },
      run: { command: "y" },
      update: { drainTime: 0 },
    });
    expect(spec.artifact).toEqual({ kind: "url", url: "https://example.org/x.tgz", sha256: sha.toLowerCase() });
    expect(spec.update.drainTimeMs).toBe(0);
  });

  it("throws a named error carrying every issue", () => {
    let caught: unknown;
    try {
      normalizeSpec({ name: "X", run: {} });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SpecValidationError);
    const issues = (caught as SpecValidationError).issues;
    expect(issues.map((i) => i.path.join("."))).toEqual(["name", "run.command"]);
  });

  it("reports problems of unrelated blocks together, cross-field ones included", () => {
    const r = validateSpec({
      name: "x",
      run: { command: "y", stopTimeout: "soon" },
      instances: 1,
      update: { canary: 2 },
    });
    expect(r.issues.map((i) => i.path.join("."))).toEqual(["run.stopTimeout", "update.canary"]);
  });
});

describe("toSpecInput", () => {
  it("round-trips the DESIGN example exactly", () => {
    const spec = parseSpecFile(DESIGN_EXAMPLE, "web.yaml").spec!;
    expect(normalizeSpec(toSpecInput(spec))).toEqual(spec);
  });
  it("writes durations that parse back to the same ms", () => {
    expect(exactDuration(0)).toBe("0s");
    expect(exactDuration(1500)).toBe("1s500ms");
    expect(exactDuration(90_500)).toBe("1m30s500ms");
    expect(exactDuration(7_200_000)).toBe("2h");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (ms) => {
        expect(parseDurationMs(exactDuration(ms))).toBe(ms);
      }),
    );
  });
});

describe("the schema's patterns agree with the shared parsers", () => {
  it("label keys and values: the same rules as shared/labels.ts", () => {
    const text = fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[a-zA-Z0-9._/-]{1,66}$/));
    fc.assert(
      fc.property(text, (s) => {
        expect(LABEL_KEY.test(s), s).toBe(labelProblems({ [s]: "v" }).length === 0);
        expect(LABEL_VALUE.test(s), s).toBe(labelProblems({ k: s }).length === 0);
      }),
      { numRuns: 500 },
    );
  });
  it("a duration is valid exactly when parseDurationMs takes it", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.stringMatching(/^[0-9.]{0,4}(ms|s|m|h|d|x)?([0-9.]{0,3}(ms|s|m|h|d))?$/),
    );
    fc.assert(
      fc.property(text, (s) => {
        let parses = true;
        try {
          parseDurationMs(s);
        } catch {
          parses = false;
        }
        // The schema is stricter about blanks around a duration; parseDurationMs trims them.
        // A well-formed duration may still be longer than the field allows: that is another rule.
        const accepted = validateSpec({ name: "x", run: { command: "y", stopTimeout: s } }).issues.filter((i) => !/is longer than the maximum/.test(i.message)).length === 0;
        expect(accepted, JSON.stringify(s)).toBe(parses && s === s.trim());
      }),
      { numRuns: 1000 },
    );
  });
});
