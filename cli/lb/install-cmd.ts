/** The shell of `berth lb install`: validates, writes what planLbInstall says, starts the unit. */
import { readFile } from "node:fs/promises";
import { Command, CommanderError } from "commander";
import { defineLbKinds } from "./command.js";
import { haproxyOptions, nginxOptions } from "./run.js";
import { parseHostPort } from "../../shared/addr.js";
import { parseToken } from "../../shared/token-format.js";
import { CliError, EXIT } from "../errors.js";
import { joinToken } from "../join-token.js";
import { LbInstallError, planLbInstall } from "./install.js";
import { carryOut } from "../run/agent-install.js";
import { berthMain } from "../self.js";

export interface InstallFlags {
  controller: string;
  token?: string;
  tokenFile?: string;
  caFile: string;
  prefix: string;
  dryRun?: boolean;
}

/**
 * The flags after `--` parsed and checked as `berth lb haproxy|nginx` will when the
 * unit starts: a unit that could never start (an unknown flag, a bad --wait) would
 * fail every 2 s under Restart=always, out of sight. Nothing runs.
 */
export async function checkLbArgs(args: string[]): Promise<void> {
  const lb = new Command("lb").exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  defineLbKinds(lb, { haproxy: async (f) => void haproxyOptions(f), nginx: async (f) => void nginxOptions(f) });
  try {
    await lb.parseAsync(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) throw new CliError(`after --: ${e.message.replace(/^error: /, "")}`, EXIT.usage, "the flags after -- are those of `berth lb haproxy|nginx --help`");
    if (e instanceof CliError) throw new CliError(`after --: ${e.message}`, EXIT.usage);
    throw e;
  }
}

export async function runLbInstall(args: string[], o: InstallFlags): Promise<void> {
  for (const a of o.controller.split(",")) {
    try {
      parseHostPort(a.trim());
    } catch (e) {
      throw new CliError(`--controller ${a}: ${(e as Error).message}`, EXIT.usage);
    }
  }
  // Like a join token: from a file or the environment, never argv if it can be helped.
  const got = await joinToken({ flag: o.token, flagFile: o.tokenFile, env: process.env.BERTH_TOKEN, envName: "BERTH_TOKEN" });
  if (!got) throw new CliError("no lb token: give --token-file PATH or set BERTH_TOKEN (berth token create --role lb makes one)", EXIT.usage);
  const token = got.token;
  try {
    if (parseToken(token).kind === "join") throw new CliError(`${got.from}: this is a join token; make an lb token with \`berth token create --role lb\``, EXIT.usage);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${got.from}: ${(e as Error).message}`, EXIT.usage);
  }
  let caPem: string;
  try {
    caPem = await readFile(o.caFile, "utf8");
  } catch (e) {
    throw new CliError(`--ca-file ${o.caFile}: ${(e as Error).message}`, EXIT.usage);
  }
  if (!caPem.includes("BEGIN CERTIFICATE")) throw new CliError(`--ca-file ${o.caFile}: not a PEM certificate`, EXIT.usage);
  // The kind first, in planLbInstall's words; then its flags as the unit will parse them.
  if (args[0] === "haproxy" || args[0] === "nginx") await checkLbArgs(args);
  let planned;
  try {
    planned = planLbInstall({ args, controller: o.controller, token, caPem, prefix: o.prefix, nodePath: process.execPath, berthMain: berthMain() });
  } catch (e) {
    if (e instanceof LbInstallError) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
  const { plan, unit } = planned;
  if (o.dryRun) {
    for (const d of plan.dirs) console.log(`mkdir ${d.path} (mode ${d.mode.toString(8)})`);
    for (const f of plan.files) console.log(`\n--- ${f.path} (mode ${f.mode.toString(8)})\n${f.path.endsWith(".env") ? f.content.replace(/BERTH_TOKEN=.*/, "BERTH_TOKEN=(the token)") : f.content}`);
    return;
  }
  await carryOut(plan, o.prefix, unit, `systemd is not running here: start it with the ExecStart line of ${plan.files[2]!.path}`);
}
