/** What `berth secret set | list | rm` do (descriptors: cli/commands/secret.ts). Values go to the controller, never come back. */
import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { call } from "../client.js";
import { CliError, EXIT } from "../errors.js";
import { parseFormat, printData, table } from "../output.js";
import { globalsOf, withApi } from "./common.js";
import { MAX_SECRET_BYTES, SECRET_NAME, SECRET_NAME_MESSAGE } from "../../shared/secret-limits.js";

async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) throw new CliError("give the value on stdin (`printf %s \"$VALUE\" | berth secret set NAME`) or with --from-file", EXIT.usage);
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of process.stdin as AsyncIterable<Buffer>) {
    n += c.length;
    // More than the limit is refused here, without reading the rest into memory.
    if (n > MAX_SECRET_BYTES) throw new CliError(`the value is more than the limit of ${MAX_SECRET_BYTES / 1024} KiB`, EXIT.usage);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) throw new CliError(`${name}: ${SECRET_NAME_MESSAGE}`, EXIT.usage);
}

const when = (ms: number): string => (ms ? new Date(ms).toISOString() : "");

export async function secretSet(name: string, o: { fromFile?: string; output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  checkName(name);
  const value = o.fromFile !== undefined ? await readFile(o.fromFile).catch((e: unknown) => Promise.reject(new CliError(`--from-file ${o.fromFile}: ${(e as Error).message}`, EXIT.usage))) : await readStdin();
  if (value.length === 0) throw new CliError("the value is empty", EXIT.usage);
  if (value.length > MAX_SECRET_BYTES) throw new CliError(`the value is ${value.length} bytes, more than the limit of ${MAX_SECRET_BYTES / 1024} KiB`, EXIT.usage);
  await withApi(globalsOf(cmd), async (api) => {
    const res = await call(api, api.client.SetSecret, { name, value });
    if (printData(format, res)) return;
    const rolled = res.rolled ?? [];
    console.log(`secret ${res.name} version ${res.version}${rolled.length ? `: rolling ${rolled.join(", ")} (${rolled.length === 1 ? `berth rollout status ${rolled[0]}` : "berth rollout status <service>"} follows it)` : ""}`);
  });
}

export async function secretList(o: { output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  await withApi(globalsOf(cmd), async (api) => {
    const res = await call(api, api.client.ListSecrets, {});
    const list = res.secrets ?? [];
    if (printData(format, list)) return;
    if (!list.length) return console.log("no secrets: `berth secret set NAME` stores one");
    console.log(table(["NAME", "VERSION", "UPDATED", "BY", "USED BY"], list.map((s) => [s.name, String(s.version), when(Number(s.updated_at_ms)), s.updated_by, (s.used_by ?? []).join(", ")])));
  });
}

export async function secretRm(name: string, _o: unknown, cmd: Command): Promise<void> {
  checkName(name);
  await withApi(globalsOf(cmd), async (api) => {
    const res = await call(api, api.client.DeleteSecret, { name });
    console.log(`secret ${res.name} deleted`);
  });
}
