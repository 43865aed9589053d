/**
 * A fleet folder: what each service is, apart from what each environment makes of it
 * (DESIGN.md "Environments").
 *
 *   fleet/services/*.yaml   one service spec each: artifact, run, health, install, and the
 *                           defaults of everything an environment may change
 *   fleet/envs/<env>.yaml   services: { <name>: overrides } for that environment
 *
 * An environment may set `instances`, `env` (run.env), `secrets`, `secretFiles`,
 * `constraints`, `spread`, `resources` and `update`, and nothing else: never the
 * artifact, the command or the health check, so the very build that ran in staging,
 * by digest, is what reaches prod. Overrides merge as a JSON Merge Patch (RFC 7386):
 * mappings merge key by key, `null` removes a key, anything else — a scalar or a
 * list — replaces the base's value whole (a list is one value: `dc: [dc3]` is the
 * new list, not an addition to the old one).
 *
 * loadFleet is the one way in for `berth render|plan|apply` and for anything else that
 * reads a fleet (GitOps): a plain folder of specs loads as loadSpecDir loads it.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import { closest } from "../closest.js";
import { describeValue, unknownFieldMessage } from "./issues.js";
import type { SpecIssue } from "./issues.js";
import { MAX_SPEC_FILE_BYTES, STRINGISH, loadSpecDir, readYamlDoc } from "./parse.js";
import type { LoadedSpecs, ReadYaml, SpecError } from "./parse.js";
import { formatSpecPath } from "./path.js";
import type { SpecPath } from "./path.js";
import { SERVICE_NAME, validateSpec } from "./schema.js";
import { referenceIssues } from "./template.js";

/** What an environment may set for a service, in the order errors list them. */
export const ENV_FIELDS = ["instances", "env", "secrets", "secretFiles", "constraints", "spread", "resources", "update"] as const;

/** What an environment may never change, and why: the point of environments. */
const FIXED: Record<string, string> = {
  artifact: "an environment cannot change the artifact: the same build, by digest, runs in every environment",
  run: "an environment cannot change how the service runs (command, args, user): set variables with env",
  health: "an environment cannot change the health check: it is part of what the service is",
};
/** The rest of a service spec: the same everywhere, but no safety catch, only a wrong place. */
const SERVICE_ONLY = new Set(["name", "install", "failover"]);

export interface LoadedFleet extends LoadedSpecs {
  /** the environment rendered; "" for a plain folder or a fleet rendered without one */
  environment: string;
  /** every environment of a fleet folder (envs/<name>.yaml), sorted; [] for a plain folder */
  environments: string[];
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * RFC 7386 JSON Merge Patch: `patch` over `base`, neither modified. Keys are set as own
 * data properties, so even a `__proto__` key stays a key and never a prototype.
 */
export function mergePatch(base: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return patch;
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown): void => void Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (isMap(base)) for (const [k, v] of Object.entries(base)) put(k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else put(k, mergePatch(out[k], v));
  }
  return out;
}

/** An overlay's fields in the shape of a spec: `env` is `run.env`, the rest keep their place. */
function specPatch(overrides: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (k === "env") patch.run = { env: v };
    else Object.defineProperty(patch, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return patch;
}

/** A service's spec as written (`base`), with one environment's overrides (already checked) merged in. */
export function renderService(base: unknown, overrides: Record<string, unknown>): unknown {
  return mergePatch(base, specPatch(overrides));
}

/** Where a spec field was written in the overlay of service `name`. */
function overlayPath(name: string, path: SpecPath): SpecPath {
  return path[0] === "run" && path[1] === "env" ? ["services", name, "env", ...path.slice(2)] : ["services", name, ...path];
}

/**
 * Whether the value at spec `path` comes from the overlay: it names the whole path, or
 * replaced something on the way (a scalar or a list, which replaces what was below it).
 */
function fromOverlay(patch: Record<string, unknown>, path: SpecPath): boolean {
  let node: unknown = patch;
  for (let i = 0; i < path.length; i++) {
    if (!isMap(node)) return i > 0;
    const seg = String(path[i]);
    if (!Object.hasOwn(node, seg)) return false;
    node = node[seg];
  }
  return true;
}

/** Overlay values where the spec wants a string: see parse.ts STRINGISH. */
const OVERLAY_STRINGISH: readonly SpecPath[] = [
  ["services", "*", "env", "*"],
  ["services", "*", "constraints", "*"],
  ["services", "*", "constraints", "*", "*"],
];

const SPEC_FILE = /\.ya?ml$/;
const fileError = (file: string, message: string): SpecError => ({ file, line: 0, column: 0, path: "", message });
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** `*.yaml`/`*.yml` directly in a folder, sorted, dot-files skipped; [] when there is no folder. */
async function yamlNames(folder: string): Promise<string[]> {
  if (!(await isDir(folder))) return [];
  return (await readdir(folder)).filter((n) => SPEC_FILE.test(n) && !n.startsWith(".")).sort();
}

async function readText(file: string): Promise<string | SpecError> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error("not a regular file");
    if (st.size > MAX_SPEC_FILE_BYTES) throw new Error(`larger than ${MAX_SPEC_FILE_BYTES / 1024} KiB`);
    return await readFile(file, "utf8");
  } catch (e) {
    return fileError(file, `cannot read: ${errorText(e)}`);
  }
}

/**
 * Loads the specs of `dir` for environment `env`: a fleet folder (one with services/)
 * rendered for that environment, or a plain folder of specs (or one spec file), which
 * takes no environment. Every problem comes back as an error with file:line, none is
 * thrown; `files[].content` is each rendered spec's text, to send to the controller.
 */
export async function loadFleet(dir: string, o: { env?: string | undefined }): Promise<LoadedFleet> {
  const env = o.env ?? "";
  if (!(await isDir(join(dir, "services")))) {
    if (env) {
      return { files: [], errors: [fileError(dir, `--env ${env} needs a fleet folder (services/*.yaml and envs/${env}.yaml); this is a folder of plain specs`)], environment: "", environments: [] };
    }
    return { ...(await loadSpecDir(dir)), environment: "", environments: [] };
  }

  const errors: SpecError[] = [];
  const done = (files: LoadedSpecs["files"] = []): LoadedFleet => ({ files, errors: sortErrors(errors), environment: env, environments });
  // A spec left beside services/ would be silently not applied: say so instead.
  for (const stray of await yamlNames(dir)) errors.push(fileError(join(dir, stray), "a fleet folder keeps its specs in services/ (and environments in envs/): move this file"));

  const envsDir = join(dir, "envs");
  const envFiles = await yamlNames(envsDir);
  const environments = [...new Set(envFiles.map((n) => n.replace(SPEC_FILE, "")))].sort();
  let envFile: string | undefined;
  if (!env) {
    if (environments.length) errors.push(fileError(envsDir, `this fleet has environments: choose one with --env (${environments.join(", ")})`));
  } else if (!SERVICE_NAME.test(env)) {
    errors.push(fileError(envsDir, `environment ${JSON.stringify(env.slice(0, 64))}: must be lowercase letters, digits and '-', 1-63 characters`));
  } else {
    const named = envFiles.filter((n) => n.replace(SPEC_FILE, "") === env);
    if (named.length === 0) {
      const near = closest(env, environments);
      const has = environments.length ? `this fleet has ${environments.join(", ")}` : "this fleet has none";
      errors.push(fileError(envsDir, `no environment "${env}" (no envs/${env}.yaml): ${near ? `did you mean "${near}"? (${has})` : has}`));
    } else if (named.length > 1) {
      errors.push(fileError(join(envsDir, named[1]!), `envs/${named[0]!} is the same environment: keep one`));
    } else envFile = join(envsDir, named[0]!);
  }
  if (errors.length) return done();

  // The overlay: services: { <name>: { <field>: value } }.
  const overrides = new Map<string, Record<string, unknown>>();
  let overlay: ReadYaml | undefined;
  if (envFile) {
    const text = await readText(envFile);
    if (typeof text !== "string") {
      errors.push(text);
      return done();
    }
    overlay = readYamlDoc(text, envFile, { stringish: OVERLAY_STRINGISH, what: "services: <name>: overrides", allowEmpty: true });
    errors.push(...overlay.errors);
    if (overlay.errors.length) return done();
    const at = (path: SpecPath, message: string, target: SpecIssue["at"] = "value"): void => {
      errors.push({ file: envFile, ...overlay!.position(path, target), path: formatSpecPath(path), message });
    };
    const raw = overlay.raw;
    if (raw !== undefined && raw !== null && !isMap(raw)) at([], `expected a mapping with services: <name>: overrides, got ${describeValue(raw)}`);
    for (const [k, v] of Object.entries(isMap(raw) ? raw : {})) {
      if (k !== "services") at([k], unknownFieldMessage(k, ["services"]), "key");
      else if (v !== null && !isMap(v)) at([k], `expected a mapping of service name → overrides, got ${describeValue(v)}`);
      else
        for (const [name, fields] of Object.entries(v ?? {})) {
          if (fields !== null && !isMap(fields)) {
            at(["services", name], `expected a mapping of overrides (instances, env, …), got ${describeValue(fields)}`);
            continue;
          }
          const kept: Record<string, unknown> = {};
          for (const [field, value] of Object.entries(fields ?? {})) {
            const path = ["services", name, field];
            const where = `(it is set in services/${name}.yaml)`;
            if (FIXED[field]) at(path, `${FIXED[field]} ${where}`, "key");
            else if (SERVICE_ONLY.has(field)) at(path, `${field} is part of what the service is, the same in every environment: set it in services/${name}.yaml`, "key");
            else if (!(ENV_FIELDS as readonly string[]).includes(field)) at(path, unknownFieldMessage(field, ENV_FIELDS), "key");
            else Object.defineProperty(kept, field, { value, enumerable: true, writable: true, configurable: true });
          }
          overrides.set(name, kept);
        }
    }
  }

  // The services, each rendered for the environment.
  const names = await yamlNames(join(dir, "services"));
  if (!names.length) errors.push(fileError(join(dir, "services"), "no *.yaml or *.yml spec files in this folder"));
  const files: LoadedSpecs["files"] = [];
  const byName = new Map<string, { file: string; line: number; column: number }>();
  /** every service name a file declares, valid spec or not: what an override may name */
  const declared = new Set<string>();
  let unreadable = false;
  for (const n of names) {
    const file = join(dir, "services", n);
    const text = await readText(file);
    if (typeof text !== "string") {
      errors.push(text);
      files.push({ file });
      unreadable = true;
      continue;
    }
    const base = readYamlDoc(text, file, { stringish: STRINGISH, what: "a service spec, a mapping with at least name and run.command" });
    const name = isMap(base.raw) && typeof base.raw.name === "string" ? base.raw.name : undefined;
    if (base.errors.length || name === undefined) unreadable = true;
    else declared.add(name);
    if (base.errors.length) {
      errors.push(...base.errors);
      files.push({ file });
      continue;
    }
    const mine = (name !== undefined && overrides.get(name)) || {};
    const patch = specPatch(mine);
    const merged = renderService(base.raw, mine);
    const rendered = specIssues(merged);
    const own = new Set(specIssues(base.raw).issues.map(issueKey));
    for (const i of rendered.issues) {
      if (overlay && envFile && name !== undefined && fromOverlay(patch, i.path)) {
        const path = overlayPath(name, i.path);
        errors.push({ file: envFile, ...overlay.position(path, i.at), path: formatSpecPath(path), message: i.message });
      } else {
        // Where the merge made the problem, the overlay is half of the story: name it.
        const entry = overlay && envFile && name !== undefined && overrides.has(name) && !own.has(issueKey(i)) ? { file: envFile, ...overlay.position(["services", name], "key") } : undefined;
        const also = entry ? ` (with the overrides of ${relative(entry.file)}:${entry.line}:${entry.column})` : "";
        errors.push({ file, ...base.position(i.path, i.at), path: formatSpecPath(i.path), message: `${i.message}${also}` });
      }
    }
    if (!rendered.spec) {
      files.push({ file });
      continue;
    }
    files.push({ file, spec: rendered.spec, content: stringify(merged) });
    const here = { file, ...base.position(["name"]) };
    const first = byName.get(rendered.spec.name);
    if (first) {
      errors.push({ ...here, path: "name", message: `service "${rendered.spec.name}" is also defined in ${first.file}:${first.line}:${first.column}; names must be unique in the fleet` });
    } else byName.set(rendered.spec.name, here);
  }

  // An override for a service that does not exist is a typo or a leftover: either way, refused.
  if (overlay && envFile && !unreadable) {
    for (const name of overrides.keys()) {
      if (declared.has(name)) continue;
      const near = closest(name, declared);
      const hint = near ? `did you mean "${near}"?` : `services here: ${[...declared].join(", ") || "none"}`;
      errors.push({ file: envFile, ...overlay.position(["services", name], "key"), path: formatSpecPath(["services", name]), message: `no service "${name}" in services/: ${hint}` });
    }
  }
  return done(files);
}

/** A spec as written → its problems (schema and `${…}` references) or the spec. */
function specIssues(raw: unknown): ReturnType<typeof validateSpec> {
  const result = validateSpec(raw);
  const references = referenceIssues(raw);
  if (result.spec && !references.length) return result;
  return { issues: [...(result.spec ? [] : result.issues), ...references] };
}

const issueKey = (i: SpecIssue): string => `${formatSpecPath(i.path)}\n${i.message}`;

/** `envs/prod.yaml` for `fleet/envs/prod.yaml`: how a message names the overlay. */
function relative(envFile: string): string {
  return `envs/${basename(envFile)}`;
}

/** File by file (in the order first reported), line by line within one. */
function sortErrors(errors: SpecError[]): SpecError[] {
  const order = new Map<string, number>();
  for (const e of errors) if (!order.has(e.file)) order.set(e.file, order.size);
  return errors.sort((a, b) => order.get(a.file)! - order.get(b.file)! || a.line - b.line || a.column - b.column);
}
