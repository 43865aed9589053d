/** `berth render -f fleet/ --env prod`: the effective specs, as plan and apply send them. */
import { parse } from "yaml";
import { loadFleet } from "../../shared/spec/fleet.js";
import { formatSpecErrors } from "../spec-errors.js";
import { environmentFlag } from "../environment.js";
import { CliError, EXIT } from "../errors.js";
import { parseFormat } from "../output.js";

export async function render(o: { file: string[]; env?: string; output: string }): Promise<void> {
  // One fleet at a time: a second -f was once dropped without a word.
  if (o.file.length !== 1) throw new CliError(`-f given ${o.file.length} times: render takes one fleet folder or spec file`, EXIT.usage);
  const file = o.file[0]!;
  const format = parseFormat(o.output);
  if (format === "table") throw new CliError("-o table: render prints specs: yaml or json", EXIT.usage);
  const env = environmentFlag(o.env, "--env");
  const loaded = await loadFleet(file, { env });
  if (loaded.errors.length) {
    throw new CliError(`invalid spec${loaded.errors.length > 1 ? "s" : ""}:\n${formatSpecErrors(loaded.errors)}`, EXIT.usage);
  }
  const files = loaded.files.flatMap((f) => (f.content === undefined ? [] : [{ file: f.file, content: f.content }]));
  if (format === "json") {
    process.stdout.write(`${JSON.stringify(files.map((f) => parse(f.content) as unknown), null, 2)}\n`);
    return;
  }
  // One YAML stream, a document per service, each saying where it came from.
  const from = loaded.environment ? ` for environment ${loaded.environment}` : "";
  process.stdout.write(files.map((f) => `# ${f.file}${from}\n${f.content}`).join("---\n"));
}
