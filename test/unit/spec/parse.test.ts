import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatSpecError, loadSpecDir, parseSpecFile } from "../../../shared/spec/parse.js";
import { DESIGN_EXAMPLE } from "./fixtures.js";

/** The formatted errors of one file's text, as `berth plan` prints them. */
function errorsOf(text: string, file = "web.yaml"): string[] {
  const r = parseSpecFile(text, file);
  if (r.errors.length) expect(r.spec).toBeUndefined();
  return r.errors.map(formatSpecError);
}

const BASE = "name: web\nrun:\n  command: ./bin/web\n";

describe("parseSpecFile errors: file:line:col: path: message", () => {
  it("a document nested past what the parser's stack holds is named so, not in the engine's words", () => {
    const n = 20_000;
    const r = parseSpecFile(`name: x\nrun:\n  command: x\nx: ${"[".repeat(n)}${"]".repeat(n)}\n`, "deep.yaml");
    expect(r.spec).toBeUndefined();
    expect(r.errors.map(formatSpecError).join("\n")).toMatch(/^deep\.yaml:4:\d+: nested too deeply \(hundreds of levels\)/);
  });

  it("formats as file:line:col: path: message", () => {
    expect(formatSpecError({ file: "web.yaml", line: 12, column: 5, path: "health.http.path", message: "must start with /" })).toBe(
      "web.yaml:12:5: health.http.path: must start with /",
    );
    expect(formatSpecError({ file: "web.yaml", line: 3, column: 1, path: "", message: "bad" })).toBe("web.yaml:3:1: bad");
    expect(formatSpecError({ file: "specs", line: 0, column: 0, path: "", message: "cannot read" })).toBe("specs: cannot read");
  });

  it("an unknown field at the top level points at the key", () => {
    expect(errorsOf(`${BASE}replicas: 3\n`)).toEqual([
      'web.yaml:4:1: replicas: unknown field "replicas": expected one of: name, artifact, install, run, secrets, secretFiles, resources, instances, constraints, spread, health, update, failover',
    ]);
  });

  it("an unknown field nested, with a suggestion for a near miss", () => {
    expect(errorsOf(`${BASE}  stop_signal: SIGINT\nhealth:\n  tcp: { port: 80, host: x }\n`)).toEqual([
      'web.yaml:4:3: run.stop_signal: unknown field "stop_signal": did you mean "stopSignal"?',
      'web.yaml:6:20: health.tcp.host: unknown field "host": expected one of: port',
    ]);
  });

  it("a wrong type names what was expected and what was found", () => {
    expect(errorsOf(`${BASE}instances: three\nresources: { memoryMb: 1.5 }\nrun2: 1\n`)).toEqual([
      "web.yaml:4:12: instances: expected a whole number, got the string \"three\"",
      "web.yaml:5:24: resources.memoryMb: expected a whole number, got the fractional number 1.5",
      'web.yaml:6:1: run2: unknown field "run2": did you mean "run"?',
    ]);
    expect(errorsOf(`${BASE}  args: [--port, { a: 1 }]\n`)).toEqual(["web.yaml:4:18: run.args[1]: expected a string, got a mapping"]);
  });

  it("a missing field points at the mapping that should hold it", () => {
    expect(errorsOf("name: web\nrun:\n  args: [a]\n")).toEqual([
      "web.yaml:3:3: run.command: required field is missing (expected a string)",
    ]);
    expect(errorsOf("run: { command: x }\n")).toEqual(["web.yaml:1:1: name: required field is missing (expected a string)"]);
    expect(errorsOf("name: web\nrun:\n")).toEqual(["web.yaml:2:1: run: expected a mapping, got an empty value"]);
  });

  it("a bad duration", () => {
    expect(errorsOf(`${BASE}  stopTimeout: 2 minutes\n`)).toEqual(["web.yaml:4:16: run.stopTimeout: expected a duration such as 500ms, 5s, 2m, 1h or 1m30s: write 2m"]);
    expect(errorsOf(`${BASE}  stopTimeout: 20\nupdate:\n  drainTime: 5 s\n`)).toEqual([
      "web.yaml:4:16: run.stopTimeout: expected a duration such as 500ms, 5s, 2m, 1h or 1m30s (a number needs a unit: 20s?)",
      "web.yaml:6:14: update.drainTime: expected a duration such as 500ms, 5s, 2m, 1h or 1m30s: write 5s",
    ]);
    expect(errorsOf(`${BASE}health:\n  tcp: { port: 1 }\n  interval: 0s\n  timeout: 0s\n`)).toEqual([
      "web.yaml:6:13: health.interval: must be longer than 0",
      "web.yaml:7:12: health.timeout: must be longer than 0",
    ]);
  });

  it("a bad name", () => {
    expect(errorsOf("name: Web_1\nrun: { command: x }\n")).toEqual([
      "web.yaml:1:7: name: must be lowercase letters, digits and '-', 1-63 characters, not starting or ending with '-'",
    ]);
    expect(errorsOf(`name: ${"a".repeat(64)}\nrun: { command: x }\n`)).toHaveLength(1);
    expect(errorsOf("name: -web\nrun: { command: x }\n")).toHaveLength(1);
  });

  it("two health check kinds, or none", () => {
    expect(errorsOf(`${BASE}health:\n  http: { port: 80 }\n  tcp: { port: 80 }\n`)).toEqual([
      "web.yaml:6:8: health.tcp: only one check kind is allowed, and http is already given: keep one of http, tcp",
    ]);
    expect(errorsOf(`${BASE}health:\n  interval: 5s\n`)).toEqual(["web.yaml:5:3: health: needs a check: one of http, tcp or exec"]);
  });

  it("a health timeout not shorter than its interval (defaults count)", () => {
    expect(errorsOf(`${BASE}health:\n  tcp: { port: 80 }\n  interval: 1s\n  timeout: 1s\n`)).toEqual([
      "web.yaml:7:12: health.timeout: timeout (1s) must be shorter than interval (1s)",
    ]);
    expect(errorsOf(`${BASE}health:\n  tcp: { port: 80 }\n  interval: 500ms\n`)).toEqual([
      "web.yaml:5:3: health.timeout: timeout defaults to 1s, which must be shorter than interval (500ms): set health.timeout",
    ]);
    expect(errorsOf(`${BASE}health:\n  tcp: { port: 80 }\n  timeout: 3s\n`)).toEqual([
      "web.yaml:6:12: health.timeout: timeout (3s) must be shorter than interval, which defaults to 2s: set health.interval",
    ]);
  });

  it("a malformed duration names its field and place, and hides no other problem", () => {
    expect(errorsOf(`${BASE}health:\n  tcp: { port: 80 }\n  interval: fast\n  timeout: 5s\nupdate: { minHealthyTime: soon }\ninstances: -1\n`)).toEqual([
      "web.yaml:6:13: health.interval: expected a duration such as 500ms, 5s, 2m, 1h or 1m30s",
      "web.yaml:8:27: update.minHealthyTime: expected a duration such as 500ms, 5s, 2m, 1h or 1m30s",
      "web.yaml:9:12: instances: must be at least 0",
    ]);
  });

  it("health.http.path must start with /", () => {
    expect(errorsOf(`${BASE}health:\n  http: { port: 80, path: healthz }\n`)).toEqual([
      "web.yaml:5:27: health.http.path: must start with /",
    ]);
  });

  it("BERTH_ env names are reserved; env names must be names", () => {
    expect(errorsOf(`${BASE}  env: { BERTH_SERVICE: x, 1X: y, OK: z }\n`)).toEqual([
      "web.yaml:4:10: run.env.BERTH_SERVICE: names starting with BERTH_ are reserved: berth sets BERTH_SERVICE, BERTH_INSTANCE, BERTH_EPOCH, BERTH_VERSION, BERTH_ADVERTISE_ADDR",
      'web.yaml:4:28: run.env["1X"]: must be an environment variable name: [A-Za-z_][A-Za-z0-9_]*',
    ]);
  });

  it("an http artifact URL is refused, and a digest must be 64 hex digits", () => {
    expect(errorsOf(`${BASE}artifact: { url: "http://example.org/web.tgz", sha256: "${"a".repeat(64)}" }\n`)).toEqual([
      "web.yaml:4:18: artifact.url: must be an https:// URL (every host fetches it; plain http and other schemes are refused)",
    ]);
    expect(errorsOf(`${BASE}artifact:\n  url: https://example.org/web.tgz\n  sha256: "…"\n`)).toEqual([
      "web.yaml:6:11: artifact.sha256: must be the artifact's sha256: 64 hex digits",
    ]);
    expect(errorsOf(`${BASE}artifact: 5\n`)).toEqual(["web.yaml:4:11: artifact: expected a path (string) or { url, sha256 }"]);
  });

  it("run.restart: maxDelay not shorter than delay (defaults count), attempts bounded, and it reaches the normalized spec", () => {
    expect(errorsOf(`${BASE}  restart: { delay: 2m }\n`)).toEqual([
      "web.yaml:4:12: run.restart.maxDelay: maxDelay defaults to 30s, which must not be shorter than delay (2m): set run.restart.maxDelay",
    ]);
    expect(errorsOf(`${BASE}  restart: { attempts: -1, maxDelay: soon }\n`)).toEqual([
      "web.yaml:4:24: run.restart.attempts: must be at least 0",
      "web.yaml:4:38: run.restart.maxDelay: expected a duration such as 500ms, 5s, 2m, 1h or 1m30s",
    ]);
  });

  it("rollout settings that could never complete", () => {
    expect(
      errorsOf(`${BASE}instances: 2\nupdate:\n  maxUnavailable: 0\n  canary: 3\n  healthyDeadline: 20m\n  minHealthyTime: 30m\n`),
    ).toEqual([
      // progressDeadline is not written: reported at the mapping that would hold it.
      "web.yaml:6:3: update.progressDeadline: progressDeadline defaults to 10m, which must be longer than healthyDeadline (20m): set update.progressDeadline",
      "web.yaml:6:19: update.maxUnavailable: maxUnavailable (0) + maxSurge, which defaults to 0, must be at least 1, or a rollout could never replace an instance: set update.maxSurge",
      "web.yaml:8:20: update.healthyDeadline: healthyDeadline (20m) must be longer than minHealthyTime (30m), or no instance could ever count as healthy in time",
    ]);
    expect(errorsOf(`${BASE}instances: 2\nupdate: { canary: 3 }\n`)).toEqual([
      "web.yaml:5:19: update.canary: canary (3) must not exceed instances (2)",
    ]);
    expect(errorsOf(`${BASE}update: { canary: 3 }\n`)).toEqual([
      "web.yaml:4:19: update.canary: canary (3) must not exceed instances, which defaults to 1: set instances",
    ]);
    expect(errorsOf(`${BASE}update: { healthyDeadline: 3s }\n`)).toEqual([
      "web.yaml:4:28: update.healthyDeadline: healthyDeadline (3s) must be longer than minHealthyTime, which defaults to 5s, or no instance could ever count as healthy in time: set update.minHealthyTime",
    ]);
  });

  it("a progressDeadline a batch's drain and healthyDeadline together would outrun", () => {
    expect(errorsOf(`${BASE}update:\n  healthyDeadline: 10s\n  drainTime: 15s\n  progressDeadline: 20s\n`)).toEqual([
      "web.yaml:7:21: update.progressDeadline: progressDeadline (20s) must be longer than healthyDeadline (10s) + drainTime (15s), or a batch that drains and then takes its healthyDeadline would fail for want of progress",
    ]);
    // Unwritten sides are named as the defaults they are, with the fields to set.
    expect(errorsOf(`${BASE}update:\n  healthyDeadline: 9m58s\n`)).toEqual([
      "web.yaml:5:3: update.progressDeadline: progressDeadline defaults to 10m, which must be longer than healthyDeadline (9m58s) + drainTime (5s by default), or a batch that drains and then takes its healthyDeadline would fail for want of progress: set update.progressDeadline or update.drainTime",
    ]);
    // No drain, no rule beyond healthyDeadline's own.
    expect(errorsOf(`${BASE}update:\n  healthyDeadline: 10s\n  drainTime: 0\n  progressDeadline: 11s\n`)).toEqual([]);
  });

  it("the other field rules", () => {
    expect(
      errorsOf(
        `${BASE}  stopSignal: SIGFOO\n  user: "1000"\ninstall:\n  apt: [Nginx, "nginx=1.18.0-6", "curl=latest"]\nconstraints: { DC: a, disk: [], rack: "-x" }\nspread: Dc\ninstances: 10001\n`,
      ),
    ).toEqual([
      "web.yaml:4:15: run.stopSignal: expected a signal name such as SIGTERM, SIGINT or SIGQUIT",
      "web.yaml:5:9: run.user: must be a user name: lowercase [a-z_][a-z0-9_-]*, at most 32 characters",
      "web.yaml:7:9: install.apt[0]: must be a Debian package name ([a-z0-9][a-z0-9+.-]+), optionally with =version",
      "web.yaml:7:34: install.apt[2]: must be a Debian package name ([a-z0-9][a-z0-9+.-]+), optionally with =version",
      "web.yaml:8:16: constraints.DC: label key must be lowercase [a-z0-9._/-], 1-63 characters, starting and ending with a letter or digit",
      "web.yaml:8:29: constraints.disk: must not be empty",
      "web.yaml:8:39: constraints.rack: label value must be [A-Za-z0-9._-], 1-63 characters, starting and ending with a letter or digit",
      "web.yaml:9:9: spread: label key must be lowercase [a-z0-9._/-], 1-63 characters, starting and ending with a letter or digit",
      "web.yaml:10:12: instances: must be at most 10000",
    ]);
  });

  it("YAML syntax errors, with their line", () => {
    expect(errorsOf("name: web\nrun: { command: x\n")).toEqual([expect.stringMatching(/^web\.yaml:3:1: /)]);
    expect(errorsOf("name: web\nname: app\nrun: { command: x }\n")).toEqual(["web.yaml:2:1: Map keys must be unique"]);
  });

  it("a key repeated in any map, flow or block, at any depth, at the repeat's position; 1 and \"1\" are different keys", () => {
    expect(errorsOf("name: web\nrun:\n  command: x\n  env: {A: 1, B: 2, A: 3}\n")).toEqual(["web.yaml:4:21: Map keys must be unique"]);
    expect(errorsOf("name: web\nrun: { command: x }\ninstall:\n  steps:\n    - run: a\n      run: b\n")).toEqual(["web.yaml:6:7: Map keys must be unique"]);
    expect(errorsOf("name: web\nrun:\n  command: x\n  env: {1: a, \"1\": b}\n").some((e) => e.includes("unique"))).toBe(false);
    // Thousands of keys are checked in one pass (yaml's own check compared each with every other: seconds of a frozen controller).
    const many = Array.from({ length: 20_000 }, (_, i) => `K${i}: v`).join(", ");
    expect(errorsOf(`name: web\nrun:\n  command: x\n  env: {${many}, K7: again}\n`).filter((e) => e.includes("unique"))).toHaveLength(1);
  });

  it("exactly one document per file", () => {
    expect(errorsOf(`${BASE}---\nname: app\nrun: { command: y }\n`)).toEqual([
      "web.yaml:4:1: one service per file: found 2 YAML documents separated by ---; put each in its own file",
    ]);
    // A leading --- or a trailing empty document is still one spec.
    expect(errorsOf(`---\n${BASE}---\n# nothing here\n`)).toEqual([]);
    expect(errorsOf("")).toEqual(["web.yaml:1:1: empty file: expected a service spec, a mapping with at least name and run.command"]);
    expect(errorsOf("- name: web\n")).toEqual(["web.yaml:1:1: expected a mapping, got a list"]);
  });

  it("__proto__ is refused rather than silently dropped", () => {
    expect(errorsOf(`${BASE}  env: { __proto__: x }\n`)).toEqual(['web.yaml:4:10: run.env.__proto__: "__proto__" cannot be used as a name']);
  });

  it("collects every error of a file, in file order", () => {
    const errs = errorsOf("name: Web\ncolour: red\nrun:\n  command: ''\n  stopTimeout: x\nhealth: { tcp: { port: 0 } }\n");
    expect(errs.map((e) => e.split(": ")[0])).toEqual(["web.yaml:1:7", "web.yaml:2:1", "web.yaml:4:12", "web.yaml:5:16", "web.yaml:6:24"]);
  });
});

describe("loadSpecDir", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = "";
  });

  it("reads every *.yaml and *.yml in a folder, sorted, and refuses a name used twice", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-spec-"));
    await writeFile(join(dir, "b-web.yml"), DESIGN_EXAMPLE);
    await writeFile(join(dir, "a-web.yaml"), "# the same service again\nname: web\nrun: { command: x }\n");
    await writeFile(join(dir, "c-api.yaml"), "name: api\nrun: { command: x }\n");
    await writeFile(join(dir, "notes.txt"), "not a spec");
    await writeFile(join(dir, ".#a-web.yaml"), "editor lock file");
    await mkdir(join(dir, "sub.yaml"));
    await writeFile(join(dir, "sub.yaml", "d.yaml"), "name: nested\n");

    const loaded = await loadSpecDir(dir);
    expect(loaded.files.map((f) => [f.file, f.spec?.name])).toEqual([
      [join(dir, "a-web.yaml"), "web"],
      [join(dir, "b-web.yml"), "web"],
      [join(dir, "c-api.yaml"), "api"],
      [join(dir, "sub.yaml"), undefined],
    ]);
    expect(loaded.errors.map(formatSpecError)).toEqual([
      `${join(dir, "b-web.yml")}:1:7: name: service "web" is also defined in ${join(dir, "a-web.yaml")}:2:7; names must be unique in the fleet`,
      `${join(dir, "sub.yaml")}: cannot read: not a regular file`,
    ]);
  });

  it("collects the errors of all files", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-spec-"));
    await writeFile(join(dir, "a.yaml"), "name: A\nrun: { command: x }\n");
    await writeFile(join(dir, "b.yaml"), "name: b\nrun: {}\n");
    const loaded = await loadSpecDir(dir);
    expect(loaded.errors.map(formatSpecError)).toEqual([
      `${join(dir, "a.yaml")}:1:7: name: must be lowercase letters, digits and '-', 1-63 characters, not starting or ending with '-'`,
      `${join(dir, "b.yaml")}:2:6: run.command: required field is missing (expected a string)`,
    ]);
    expect(loaded.files.every((f) => f.spec === undefined)).toBe(true);
  });

  it("reads a single file, and says so when there is nothing to read", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-spec-"));
    const file = join(dir, "web.spec");
    await writeFile(file, DESIGN_EXAMPLE);
    const one = await loadSpecDir(file);
    expect(one.errors).toEqual([]);
    expect(one.files.map((f) => f.spec?.name)).toEqual(["web"]);

    const empty = await loadSpecDir(join(dir, "missing"));
    expect(empty.errors.map(formatSpecError)).toEqual([expect.stringMatching(/missing: cannot read: ENOENT/)]);
    await mkdir(join(dir, "none"));
    expect((await loadSpecDir(join(dir, "none"))).errors.map((e) => e.message)).toEqual([
      "no *.yaml or *.yml spec files in this folder",
    ]);
  });
});
