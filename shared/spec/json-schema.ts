/**
 * The JSON Schema of the spec files users write, for editors (`berth schema`; e.g. a
 * `# yaml-language-server: $schema=berth.schema.json` line in a spec). Generated from
 * the same zod schema that validates, so the two cannot drift.
 */
import { z } from "zod";
import { SpecInputSchema } from "./schema.js";

export const SPEC_SCHEMA_ID = "urn:berth:schema:service-spec:v1";

/**
 * The input shape: durations are strings, every default is shown, unknown fields are
 * refused (`additionalProperties: false`). Draft-07, which editors support best.
 * Cross-field rules (timeout < interval, canary ≤ instances, …) are only checked by berth.
 */
export function specJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(SpecInputSchema, { io: "input", target: "draft-07" });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: SPEC_SCHEMA_ID,
    title: "berth service spec",
    description:
      "One service of a berth fleet: its artifact, install steps, how it runs, where it may be placed, how its health is checked and how it rolls out. Durations are strings such as 500ms, 5s, 2m, 1h.",
    ...rest,
  };
}
