/**
 * `${NAME}` in run.args and run.env: the syntax (shared/spec/template.ts), checked at
 * apply time with the field's file:line:col; the agent's expansion is tested in
 * test/unit/supervisor/env.test.ts.
 */
import { describe, expect, it } from "vitest";
import { formatSpecError, parseSpecFile } from "../../../shared/spec/parse.js";
import { parseTemplate } from "../../../shared/spec/template.js";

const errorsOf = (text: string): string[] => parseSpecFile(text, "web.yaml").errors.map(formatSpecError);
const BASE = "name: web\nrun:\n  command: ./bin/web\n";

describe("parseTemplate", () => {
  it("splits text and references; $$ is $, a lone $ is itself", () => {
    expect(parseTemplate("${A}:8080 $$ $B $")).toEqual({ parts: [{ ref: "A" }, { text: ":8080 $ $B $" }] });
    expect(parseTemplate("")).toEqual({ parts: [] });
  });

  it("refuses an unclosed ${ and a ${...} that is not a name, saying where", () => {
    expect(parseTemplate("ab${X").error).toBe('unclosed "${" at character 3: write ${NAME}, or $${ for a literal "${"');
    expect(parseTemplate("${X:-1}").error).toMatch(/^"\$\{X:-1\}" at character 1 is not a variable reference: berth expands only \$\{NAME\}/);
  });
});

describe("references in a spec file, checked at apply time", () => {
  it("accepts DESIGN's LISTEN, BERTH_* in args, and run.env names in args", () => {
    const r = parseSpecFile(`${BASE}  args: ["--listen", "\${LISTEN}", "--id=\${BERTH_INSTANCE}", "$\${HOME}"]\n  env:\n    LISTEN: "\${BERTH_ADVERTISE_ADDR}:8080"\n`, "web.yaml");
    expect(r.errors).toEqual([]);
    // Stored as written: the agent expands, per instance.
    expect(r.spec?.run.env.LISTEN).toBe("${BERTH_ADVERTISE_ADDR}:8080");
  });

  it("an unclosed ${ names the field with its file:line:col", () => {
    expect(errorsOf(`${BASE}  env:\n    LISTEN: "\${BERTH_ADVERTISE_ADDR:8080"\n`)).toEqual([
      'web.yaml:5:13: run.env.LISTEN: unclosed "${" at character 1: write ${NAME}, or $${ for a literal "${"',
    ]);
  });

  it("an unknown name is refused, naming the field and the names there are", () => {
    expect(errorsOf(`${BASE}  args: [a, "\${PORT}"]\n  env:\n    A: "\${BERTH_HOST}"\n    B: "\${A}"\n`)).toEqual([
      "web.yaml:4:13: run.args[1]: unknown variable ${PORT}: run.args may use A, B, BERTH_SERVICE, BERTH_INSTANCE, BERTH_EPOCH, BERTH_VERSION, BERTH_ADVERTISE_ADDR; write $${PORT} for the literal text",
      "web.yaml:6:8: run.env.A: unknown variable ${BERTH_HOST}: run.env values may use BERTH_SERVICE, BERTH_INSTANCE, BERTH_EPOCH, BERTH_VERSION, BERTH_ADVERTISE_ADDR; write $${BERTH_HOST} for the literal text",
      "web.yaml:7:8: run.env.B: run.env values cannot use other run.env entries (${A}): write the value out; write $${A} for the literal text",
    ]);
  });

  it("is reported together with the schema's own problems", () => {
    expect(errorsOf(`${BASE}  env:\n    A: "\${X"\ninstances: -1\n`)).toEqual([
      'web.yaml:5:8: run.env.A: unclosed "${" at character 1: write ${NAME}, or $${ for a literal "${"',
      "web.yaml:6:12: instances: must be at least 0",
    ]);
  });
});
