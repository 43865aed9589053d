import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { loadFleet, mergePatch, renderService } from "../../../shared/spec/fleet.js";
import { formatSpecError } from "../../../shared/spec/parse.js";

const WEB = `name: web
artifact: ../build/web
run:
  command: ./bin/web
  args: [--port, "8080"]
  env: { LOG_LEVEL: info, COLOUR: blue }
instances: 1
constraints: { disk: ssd }
health:
  http: { port: 8080, path: /healthz }
update:
  canary: 1
`;
const API = "name: api\nrun: { command: ./api }\n";

let dir = "";
/** Every temp dir a test made (one test may make several): removed after it. */
const made: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "berth-fleet-"));
  made.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  dir = "";
});

/** A fleet folder in a temp dir: services/<file> and envs/<file>, each given as text. */
async function fleet(o: { services?: Record<string, string>; envs?: Record<string, string> }): Promise<string> {
  dir = await tempDir();
  await mkdir(join(dir, "services"));
  for (const [name, text] of Object.entries(o.services ?? { "web.yaml": WEB, "api.yaml": API })) await writeFile(join(dir, "services", name), text);
  if (o.envs) {
    await mkdir(join(dir, "envs"));
    for (const [name, text] of Object.entries(o.envs)) await writeFile(join(dir, "envs", name), text);
  }
  return dir;
}

const errorsOf = async (d: string, env?: string): Promise<string[]> => (await loadFleet(d, { env })).errors.map(formatSpecError).map((e) => e.replace(`${d}/`, ""));

describe("mergePatch: maps merge by key, null removes, anything else replaces (RFC 7386)", () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: "small" }, fc.integer(), fc.string(), fc.boolean(), fc.array(tie("value"), { maxLength: 3 }), tie("map")),
    map: fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 4 }),
  }));
  const patchArb = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: "small" }, fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), tie("map")),
    map: fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 4 }),
  }));

  it("an empty patch changes nothing", () => {
    fc.assert(
      fc.property(json.map, (base) => {
        expect(mergePatch(base, {})).toEqual(base);
      }),
    );
  });

  it("applying a patch twice is applying it once", () => {
    fc.assert(
      fc.property(json.map, patchArb.map, (base, patch) => {
        const once = mergePatch(base, patch);
        expect(mergePatch(once, patch)).toEqual(once);
      }),
    );
  });

  it("every key the patch names has the patch's value (or is gone, for null); every other key is the base's", () => {
    fc.assert(
      fc.property(json.map, patchArb.map, (base, patch) => {
        const out = mergePatch(base, patch) as Record<string, unknown>;
        for (const [k, v] of Object.entries(patch)) {
          if (v === null) expect(Object.hasOwn(out, k)).toBe(false);
          else if (typeof v !== "object" || Array.isArray(v)) expect(out[k]).toEqual(v);
        }
        for (const [k, v] of Object.entries(base)) if (!Object.hasOwn(patch, k)) expect(out[k]).toEqual(v);
      }),
    );
  });

  it("a list replaces a list whole; the base is never modified", () => {
    const base = { constraints: { dc: ["dc1", "dc2"], disk: "ssd" } };
    expect(mergePatch(base, { constraints: { dc: ["dc3"] } })).toEqual({ constraints: { dc: ["dc3"], disk: "ssd" } });
    expect(base.constraints.dc).toEqual(["dc1", "dc2"]);
    expect(mergePatch({ a: 1 }, { ["__proto__"]: { polluted: true } })).toEqual(JSON.parse('{"a":1,"__proto__":{"polluted":true}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("renderService: what an environment may change", () => {
  const base = parse(WEB) as Record<string, unknown>;
  const overrides = fc.record(
    {
      instances: fc.integer({ min: 0, max: 50 }),
      env: fc.dictionary(fc.stringMatching(/^[A-Z_]{1,8}$/), fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null)), { maxKeys: 3 }),
      constraints: fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), fc.oneof(fc.constant("x"), fc.constant(["a", "b"]), fc.constant(null)), { maxKeys: 3 }),
      spread: fc.oneof(fc.constant("dc"), fc.constant(null)),
      resources: fc.record({ cpu: fc.integer({ min: 0, max: 8 }) }),
      update: fc.record({ maxSurge: fc.integer({ min: 0, max: 3 }) }),
    },
    { requiredKeys: [] },
  );

  it("never changes the artifact, the command, its args or the health check", () => {
    fc.assert(
      fc.property(overrides, (o) => {
        const out = renderService(base, o) as { artifact: unknown; run: { command: unknown; args: unknown; env: Record<string, unknown> }; health: unknown; instances: unknown };
        expect(out.artifact).toEqual(base.artifact);
        expect(out.health).toEqual(base.health);
        expect(out.run.command).toBe("./bin/web");
        expect(out.run.args).toEqual(["--port", "8080"]);
        if (o.instances !== undefined) expect(out.instances).toBe(o.instances);
        for (const [k, v] of Object.entries(o.env ?? {})) expect(out.run.env[k]).toEqual(v ?? undefined);
      }),
    );
  });
});

describe("loadFleet", () => {
  it("renders one environment: overrides merged into each service, the rest of the fleet as written", async () => {
    const d = await fleet({
      envs: {
        "prod.yaml": "services:\n  web:\n    instances: 3\n    env: { LOG_LEVEL: warn, COLOUR: null }\n    constraints: { dc: [dc1, dc2] }\n    spread: dc\n    update: { maxSurge: 1 }\n",
        "staging.yaml": "services: {}\n",
      },
    });
    const prod = await loadFleet(d, { env: "prod" });
    expect(prod.errors).toEqual([]);
    expect(prod.environment).toBe("prod");
    expect(prod.environments).toEqual(["prod", "staging"]);
    expect(prod.files.map((f) => [f.file, f.spec?.name])).toEqual([
      [join(d, "services", "api.yaml"), "api"],
      [join(d, "services", "web.yaml"), "web"],
    ]);
    const web = prod.files[1]!.spec!;
    expect(web.instances).toBe(3);
    expect(web.run.env).toEqual({ LOG_LEVEL: "warn" });
    expect(web.constraints).toEqual({ disk: ["ssd"], dc: ["dc1", "dc2"] });
    expect(web.spread).toBe("dc");
    expect(web.update.maxSurge).toBe(1);
    expect(web.update.canary).toBe(1);
    expect(web.artifact).toEqual({ kind: "stored", sha256: "", source: "../build/web" });
    // What is sent to the controller is the rendered spec, which parses back to the same.
    expect(parse(prod.files[1]!.content!)).toMatchObject({ name: "web", instances: 3, artifact: "../build/web", run: { env: { LOG_LEVEL: "warn" } } });

    const staging = await loadFleet(d, { env: "staging" });
    expect(staging.errors).toEqual([]);
    expect(staging.files[1]!.spec!.instances).toBe(1);
    expect(staging.files[1]!.spec!.run.env).toEqual({ LOG_LEVEL: "info", COLOUR: "blue" });
  });

  it("keeps the text of number-like env values and constraints written in an overlay", async () => {
    const d = await fleet({ envs: { "prod.yaml": "services:\n  web:\n    env: { VERSION: 1.10, HEX: 0x10 }\n    constraints: { rack: 7 }\n" } });
    const web = (await loadFleet(d, { env: "prod" })).files[1]!.spec!;
    expect(web.run.env).toMatchObject({ VERSION: "1.10", HEX: "0x10" });
    expect(web.constraints.rack).toEqual(["7"]);
  });

  it("a plain folder of specs loads as before, without --env", async () => {
    dir = await tempDir();
    await writeFile(join(dir, "web.yaml"), WEB.replace("../build/web", "./build"));
    const r = await loadFleet(dir, {});
    expect(r.errors).toEqual([]);
    expect(r.environment).toBe("");
    expect(r.files.map((f) => f.spec?.name)).toEqual(["web"]);
    expect(r.files[0]!.content).toContain("name: web");
  });

  it("a fleet without envs/ renders its services as written when no environment is asked for", async () => {
    const d = await fleet({});
    const r = await loadFleet(d, {});
    expect(r.errors).toEqual([]);
    expect(r.files.map((f) => f.spec?.instances)).toEqual([1, 1]);
  });
});

describe("loadFleet errors, each with file:line", () => {
  it("overriding the artifact, the run command or the health check", async () => {
    const d = await fleet({ envs: { "prod.yaml": "services:\n  web:\n    artifact: ./other\n    run: { command: ./debug }\n    health:\n      tcp: { port: 1 }\n" } });
    expect(await errorsOf(d, "prod")).toEqual([
      "envs/prod.yaml:3:5: services.web.artifact: an environment cannot change the artifact: the same build, by digest, runs in every environment (it is set in services/web.yaml)",
      "envs/prod.yaml:4:5: services.web.run: an environment cannot change how the service runs (command, args, user): set variables with env (it is set in services/web.yaml)",
      "envs/prod.yaml:5:5: services.web.health: an environment cannot change the health check: it is part of what the service is (it is set in services/web.yaml)",
    ]);
  });

  it("a key naming an unknown service or field", async () => {
    const d = await fleet({ envs: { "prod.yaml": "services:\n  wbe:\n    instances: 2\n  web:\n    replicas: 2\n    instance: 3\n    install: { apt: [curl] }\n  api:\n    update: { maxSurg: 1 }\nregion: eu\n" } });
    expect(await errorsOf(d, "prod")).toEqual([
      'envs/prod.yaml:2:3: services.wbe: no service "wbe" in services/: did you mean "web"?',
      'envs/prod.yaml:5:5: services.web.replicas: unknown field "replicas": expected one of: instances, env, secrets, secretFiles, constraints, spread, resources, update',
      'envs/prod.yaml:6:5: services.web.instance: unknown field "instance": did you mean "instances"?',
      "envs/prod.yaml:7:5: services.web.install: install is part of what the service is, the same in every environment: set it in services/web.yaml",
      'envs/prod.yaml:9:15: services.api.update.maxSurg: unknown field "maxSurg": did you mean "maxSurge"?',
      'envs/prod.yaml:10:1: region: unknown field "region": expected one of: services',
    ]);
  });

  it("a bad value in an overlay points at the overlay", async () => {
    const d = await fleet({ envs: { "prod.yaml": "services:\n  web:\n    instances: three\n    env:\n      BERTH_X: y\n    constraints: { dc: [] }\n" } });
    expect(await errorsOf(d, "prod")).toEqual([
      'envs/prod.yaml:3:16: services.web.instances: expected a whole number, got the string "three"',
      "envs/prod.yaml:5:7: services.web.env.BERTH_X: names starting with BERTH_ are reserved: berth sets BERTH_SERVICE, BERTH_INSTANCE, BERTH_EPOCH, BERTH_VERSION, BERTH_ADVERTISE_ADDR",
      "envs/prod.yaml:6:24: services.web.constraints.dc: must not be empty",
    ]);
  });

  it("a problem only the merge makes points at the service file and names the overlay", async () => {
    // canary 1 is fine at 1 instance; prod's 0 instances makes it wrong.
    const d = await fleet({ envs: { "prod.yaml": "services:\n  web:\n    instances: 0\n" } });
    expect(await errorsOf(d, "prod")).toEqual([
      "services/web.yaml:12:11: update.canary: canary (1) must not exceed instances (0) (with the overrides of envs/prod.yaml:2:3)",
    ]);
    // A problem of the service file itself is reported as such, in every environment.
    const e = await fleet({ services: { "web.yaml": `${WEB}  bogus: 1\n` }, envs: { "prod.yaml": "services:\n  web: { instances: 2 }\n" } });
    expect(await errorsOf(e, "prod")).toEqual(['services/web.yaml:13:3: update.bogus: unknown field "bogus": expected one of: maxUnavailable, maxSurge, minHealthyTime, healthyDeadline, progressDeadline, canary, autoRevert, drainTime']);
  });

  it("the environment: missing, unknown, badly named, or asked of a plain folder", async () => {
    const d = await fleet({ envs: { "prod.yaml": "services: {}\n", "staging.yml": "services: {}\n" } });
    expect(await errorsOf(d)).toEqual(["envs: this fleet has environments: choose one with --env (prod, staging)"]);
    expect(await errorsOf(d, "prd")).toEqual(['envs: no environment "prd" (no envs/prd.yaml): did you mean "prod"? (this fleet has prod, staging)']);
    expect(await errorsOf(d, "Prod!")).toEqual(['envs: environment "Prod!": must be lowercase letters, digits and \'-\', 1-63 characters']);
    await writeFile(join(d, "envs", "prod.yml"), "services: {}\n");
    expect(await errorsOf(d, "prod")).toEqual(["envs/prod.yml: envs/prod.yaml is the same environment: keep one"]);

    await rm(d, { recursive: true });
    dir = await tempDir();
    await writeFile(join(dir, "web.yaml"), API);
    expect(await errorsOf(dir, "prod")).toEqual([`${dir}: --env prod needs a fleet folder (services/*.yaml and envs/prod.yaml); this is a folder of plain specs`]);
  });

  it("an overlay that is not a mapping, and a service whose entry is not one", async () => {
    const d = await fleet({ envs: { "prod.yaml": "services:\n  web: 3\n", "dev.yaml": "- web\n" } });
    expect(await errorsOf(d, "prod")).toEqual(["envs/prod.yaml:2:8: services.web: expected a mapping of overrides (instances, env, …), got the number 3"]);
    expect(await errorsOf(d, "dev")).toEqual(["envs/dev.yaml:1:1: expected a mapping with services: <name>: overrides, got a list"]);
  });

  it("spec files beside services/ are refused, not silently ignored", async () => {
    const d = await fleet({});
    await writeFile(join(d, "stray.yaml"), API);
    expect(await errorsOf(d)).toEqual(["stray.yaml: a fleet folder keeps its specs in services/ (and environments in envs/): move this file"]);
  });
});

describe("examples/fleet", () => {
  it("renders in dev, staging and prod, one build in all three", async () => {
    const root = join(import.meta.dirname, "../../../examples/fleet");
    const byEnv = new Map<string, number>();
    for (const env of ["dev", "staging", "prod"]) {
      const r = await loadFleet(root, { env });
      expect(r.errors.map(formatSpecError), env).toEqual([]);
      expect(r.environments).toEqual(["dev", "prod", "staging"]);
      const web = r.files.find((f) => f.spec?.name === "web")!.spec!;
      expect(web.artifact).toEqual({ kind: "stored", sha256: "", source: "../app" });
      byEnv.set(env, web.instances);
    }
    expect(Object.fromEntries(byEnv)).toEqual({ dev: 1, staging: 2, prod: 3 });
  });
});
