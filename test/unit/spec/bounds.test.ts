/**
 * Every number and duration in a spec has a bound that means something, every bound
 * is said in the error, and no value — however absurd — makes validation throw: a
 * throw reached the controller as "internal error" with no file, line or field.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatSpecError, parseSpecFile } from "../../../shared/spec/parse.js";
import { SPEC_LIMITS, validateSpec } from "../../../shared/spec/schema.js";

function errorsOf(text: string, file = "web.yaml"): string[] {
  const r = parseSpecFile(text, file);
  if (r.errors.length) expect(r.spec).toBeUndefined();
  return r.errors.map(formatSpecError);
}

const BASE = "name: web\nrun:\n  command: ./bin/web\n";

describe("durations", () => {
  it("negative, exponent-form and out-of-range durations are errors at their field, never a throw", () => {
    expect(errorsOf(`${BASE}update:\n  progressDeadline: -5s\n  minHealthyTime: 1e3s\n  healthyDeadline: 1e400ms\n`)).toEqual([
      "web.yaml:5:21: update.progressDeadline: must not be negative",
      "web.yaml:6:19: update.minHealthyTime: write the number out: no exponent form such as 1e3",
      "web.yaml:7:20: update.healthyDeadline: write the number out: no exponent form such as 1e3",
    ]);
    expect(errorsOf(`${BASE}health:\n  tcp: { port: 80 }\n  interval: -2s\n  timeout: 1e3ms\n`)).toEqual([
      "web.yaml:6:13: health.interval: must not be negative",
      "web.yaml:7:12: health.timeout: write the number out: no exponent form such as 1e3",
    ]);
    expect(errorsOf(`${BASE}install:\n  steps: [{ run: x, timeout: -1m }]\n`)).toEqual([
      "web.yaml:5:30: install.steps[0].timeout: must not be negative",
    ]);
  });

  it("each duration has a maximum, said in the error", () => {
    expect(errorsOf(`${BASE}update:\n  progressDeadline: 30d\n`)).toEqual([
      "web.yaml:5:21: update.progressDeadline: 30d is longer than the maximum 7d",
    ]);
    expect(
      errorsOf(
        `${BASE}  stopTimeout: 2h\ninstall:\n  steps: [{ run: x, timeout: 2d }]\nhealth:\n  tcp: { port: 80 }\n  interval: 99999999999d\nupdate:\n  drainTime: 61m\n  minHealthyTime: 2h\n  healthyDeadline: 25h\n  progressDeadline: 8d\nfailover:\n  stopAfterDisconnect: 1d1s\n`,
      ),
    ).toEqual([
      "web.yaml:4:16: run.stopTimeout: 2h is longer than the maximum 1h",
      "web.yaml:6:30: install.steps[0].timeout: 2d is longer than the maximum 1d",
      "web.yaml:9:13: health.interval: 99999999999d is longer than the maximum 1h",
      "web.yaml:11:14: update.drainTime: 61m is longer than the maximum 1h",
      "web.yaml:12:19: update.minHealthyTime: 2h is longer than the maximum 1h",
      "web.yaml:13:20: update.healthyDeadline: 25h is longer than the maximum 1d",
      "web.yaml:14:21: update.progressDeadline: 8d is longer than the maximum 7d",
      "web.yaml:16:24: failover.stopAfterDisconnect: 1d1s is longer than the maximum 1d",
    ]);
    // The maxima themselves are fine.
    expect(errorsOf(`${BASE}update:\n  minHealthyTime: 1h\n  healthyDeadline: 1d\n  progressDeadline: 7d\n`)).toEqual([]);
  });

  it("no string in any duration field makes validation throw", () => {
    const fields: ((d: string) => Record<string, unknown>)[] = [
      (d) => ({ run: { command: "x", stopTimeout: d } }),
      (d) => ({ run: { command: "x" }, install: { steps: [{ run: "x", timeout: d }] } }),
      (d) => ({ run: { command: "x" }, health: { tcp: { port: 1 }, interval: d, timeout: d } }),
      (d) => ({ run: { command: "x" }, update: { minHealthyTime: d, healthyDeadline: d, progressDeadline: d, drainTime: d } }),
      (d) => ({ run: { command: "x" }, failover: { stopAfterDisconnect: d } }),
    ];
    const duration = fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^-?[0-9.eE+-]{0,6}(ms|s|m|h|d)?$/));
    fc.assert(
      fc.property(duration, fc.constantFrom(...fields), (d, field) => {
        expect(() => validateSpec({ name: "x", ...field(d) })).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});

describe("numbers", () => {
  it("maxSurge, maxUnavailable and canary are at most the instance count", () => {
    expect(errorsOf(`${BASE}instances: 3\nupdate: { maxSurge: 1000000000, maxUnavailable: 4 }\n`)).toEqual([
      `web.yaml:5:21: update.maxSurge: must be at most ${SPEC_LIMITS.instances}`,
    ]);
    expect(errorsOf(`${BASE}instances: 3\nupdate: { maxSurge: 4, maxUnavailable: 5 }\n`)).toEqual([
      "web.yaml:5:21: update.maxSurge: maxSurge (4) must not exceed instances (3)",
      "web.yaml:5:40: update.maxUnavailable: maxUnavailable (5) must not exceed instances (3)",
    ]);
    // Scaled to zero, the defaults (maxUnavailable 1) still hold.
    expect(errorsOf(`${BASE}instances: 0\n`)).toEqual([]);
    expect(errorsOf(`${BASE}instances: 0\nupdate: { maxSurge: 2 }\n`)).toEqual([
      "web.yaml:5:21: update.maxSurge: maxSurge (2) must not exceed instances (0); 1 is allowed at 0 instances",
    ]);
  });

  it("thresholds, resources and ports are within reason", () => {
    expect(
      errorsOf(`${BASE}resources: { cpu: 5000, memoryMb: 99999999999, diskMb: 9999999999999 }\nhealth:\n  http: { port: 70000, status: 99 }\n  healthyThreshold: 1000\n  unhealthyThreshold: 0\n`),
    ).toEqual([
      `web.yaml:4:19: resources.cpu: must be at most ${SPEC_LIMITS.cpu}`,
      `web.yaml:4:35: resources.memoryMb: must be at most ${SPEC_LIMITS.memoryMb}`,
      `web.yaml:4:56: resources.diskMb: must be at most ${SPEC_LIMITS.diskMb}`,
      "web.yaml:6:17: health.http.port: must be at most 65535",
      "web.yaml:6:32: health.http.status: must be at least 100",
      `web.yaml:7:21: health.healthyThreshold: must be at most ${SPEC_LIMITS.threshold}`,
      "web.yaml:8:23: health.unhealthyThreshold: must be at least 1",
    ]);
  });
});

describe("control characters", () => {
  it("health.http.path takes visible ASCII only: no control characters, no blanks", () => {
    expect(errorsOf(`${BASE}health:\n  http: { port: 80, path: "/health\\u001b[2Jz" }\n`)).toEqual([
      "web.yaml:5:27: health.http.path: must not contain control characters (found U+001B at 8)",
    ]);
    expect(errorsOf(`${BASE}health:\n  http: { port: 80, path: "/a b" }\n`)).toEqual([
      "web.yaml:5:27: health.http.path: must be visible ASCII characters without blanks: percent-encode the rest (found \" \" at 3)",
    ]);
    expect(errorsOf(`${BASE}health:\n  http: { port: 80, path: "/%C3%A9t%C3%A9?x=1" }\n`)).toEqual([]);
  });

  it("single-line fields refuse every control character; text may keep tabs and newlines", () => {
    expect(
      errorsOf(
        `name: web\nartifact: "./b\\u0007in"\nrun:\n  command: "./bin/web\\r"\n  args: ["a\\u001b[31m", "line1\\nline2\\tx"]\n  env: { A: "\\u009b2J", B: "pem\\nlines" }\ninstall:\n  steps: [{ run: "set -e\\n./setup.sh\\n" }, { run: "x\\u0000" }]\nhealth:\n  exec: { command: ["/bin/c\\nheck", "\\u0001"] }\n`,
      ),
    ).toEqual([
      "web.yaml:2:11: artifact: must not contain control characters (found U+0007 at 4)",
      "web.yaml:4:12: run.command: must not contain control characters (found U+000D at 10)",
      "web.yaml:5:10: run.args[0]: must not contain control characters other than tab and newline (found U+001B at 2)",
      "web.yaml:6:13: run.env.A: must not contain control characters other than tab and newline (found U+009B at 1)",
      "web.yaml:8:51: install.steps[1].run: must not contain a NUL character",
      "web.yaml:10:21: health.exec.command[0]: must not contain control characters (found U+000A at 7)",
      "web.yaml:10:37: health.exec.command[1]: must not contain control characters other than tab and newline (found U+0001 at 1)",
    ]);
  });
});

describe("validateSpec", () => {
  it("returns a problem, never throws, even when a rule does", () => {
    const hostile = {
      run: { command: "x" },
      get name(): string {
        throw new Error("boom");
      },
    };
    const r = validateSpec(hostile);
    expect(r.spec).toBeUndefined();
    expect(r.issues).toEqual([{ path: [], message: "could not be validated (a bug in berth; please report it): boom", at: "value" }]);
  });
});
