import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SPEC_SCHEMA_ID, specJsonSchema } from "../../../shared/spec/json-schema.js";
import { DESIGN_EXAMPLE } from "./fixtures.js";

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every sub-schema that describes an object with fixed properties, with its path. */
function objectSchemas(node: unknown, path = "#"): [string, Json][] {
  if (Array.isArray(node)) return node.flatMap((n, i) => objectSchemas(n, `${path}/${i}`));
  if (!isObj(node)) return [];
  const here: [string, Json][] = node.type === "object" && isObj(node.properties) ? [[path, node]] : [];
  return [...here, ...Object.entries(node).flatMap(([k, v]) => objectSchemas(v, `${path}/${k}`))];
}

/**
 * A structural check of a value against the schema (no validator is installed): every
 * key is declared, and each declared property's type admits the value. Enough to tell
 * that the schema describes the YAML shape rather than the normalized one.
 */
function conforms(value: unknown, schema: Json, path: string): string[] {
  const problems: string[] = [];
  const alternatives = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (alternatives && !schema.type) {
    return alternatives.some((s) => conforms(value, s, path).length === 0) ? [] : [`${path}: matches no alternative`];
  }
  const types = [schema.type].flat().filter(Boolean) as string[];
  const typeOf = Array.isArray(value) ? "array" : value === null ? "null" : Number.isInteger(value) ? "integer" : typeof value;
  if (types.length && !types.includes(typeOf) && !(typeOf === "integer" && types.includes("number"))) {
    return [`${path}: ${typeOf} is not ${types.join("|")}`];
  }
  if ("const" in schema && schema.const !== value) return [`${path}: is not ${JSON.stringify(schema.const)}`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return [`${path}: is not one of the enum`];
  if (typeof value === "string" && typeof schema.pattern === "string" && !new RegExp(schema.pattern).test(value)) {
    problems.push(`${path}: "${value}" does not match ${schema.pattern}`);
  }
  if (isObj(value)) {
    const props = isObj(schema.properties) ? schema.properties : {};
    for (const req of (schema.required as string[] | undefined) ?? []) if (!(req in value)) problems.push(`${path}.${req}: required`);
    for (const [k, v] of Object.entries(value)) {
      const sub = props[k] ?? (isObj(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (!sub) problems.push(`${path}.${k}: not allowed`);
      else problems.push(...conforms(v, sub as Json, `${path}.${k}`));
    }
  }
  if (Array.isArray(value) && isObj(schema.items)) value.forEach((v, i) => problems.push(...conforms(v, schema.items as Json, `${path}[${i}]`)));
  return problems;
}

describe("specJsonSchema", () => {
  const schema = specJsonSchema();

  it("is identified, titled and described for editors", () => {
    expect(schema.$id).toBe(SPEC_SCHEMA_ID);
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(typeof schema.title).toBe("string");
    expect(typeof schema.description).toBe("string");
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it("requires name and run, and run.command", () => {
    expect(schema.required).toEqual(["name", "run"]);
    const run = (schema.properties as Json).run as Json;
    expect(run.required).toEqual(["command"]);
  });

  it("refuses unknown fields on every object", () => {
    const objects = objectSchemas(schema);
    expect(objects.length).toBeGreaterThanOrEqual(12);
    for (const [path, o] of objects) expect(o.additionalProperties, path).toBe(false);
  });

  it("describes the YAML shape: DESIGN's example fits, durations are strings", () => {
    expect(conforms(parse(DESIGN_EXAMPLE), schema, "spec")).toEqual([]);
    const props = schema.properties as Json;
    const update = (props.update as Json).properties as Json;
    expect(update.minHealthyTimeMs).toBeUndefined();
    expect((update.minHealthyTime as Json).default).toBe("5s");
    expect(conforms({ name: "web", run: { command: "x" }, health: { tcp: { port: 1 }, interval: 2000 } }, schema, "spec")).toEqual([
      "spec.health.interval: matches no alternative",
    ]);
    expect(conforms({ name: "web", run: { command: "x", stopTimeoutMs: 1 } }, schema, "spec")).toEqual(["spec.run.stopTimeoutMs: not allowed"]);
  });

  it("tells editors that health takes exactly one check kind", () => {
    const health = (schema.properties as Json).health as Json;
    expect(health.oneOf).toEqual([{ required: ["http"] }, { required: ["tcp"] }, { required: ["exec"] }]);
  });
});
