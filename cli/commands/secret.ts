/** `berth secret set | list | rm`: descriptors; cli/run/secret.ts does the work. Values go to the controller, never come back. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/secret.js");

export function registerSecret(program: Command): void {
  const secret = program.command("secret").description("named, encrypted values that services get as env vars or files");
  secret
    .command("set <name>")
    .description("store a new value (from stdin, or --from-file); the services that use it roll, health-gated")
    .option("--from-file <file>", "read the value from this file (taken as is, a trailing newline included)")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExamples:\n  berth secret set tls-key --from-file ./tls.key\n  printf %s \"$DB_PASSWORD\" | berth secret set db-password")
    .action(lazy(run, (m) => m.secretSet));
  secret
    .command("list")
    .alias("ls")
    .description("names, versions and the services that use them (never values)")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExample:\n  berth secret list -o json")
    .action(lazy(run, (m) => m.secretList));
  secret
    .command("rm <name>")
    .alias("delete")
    .description("delete a secret; refused while a service uses it")
    .addHelpText("after", "\nExample:\n  berth secret rm db-password")
    .action(lazy(run, (m) => m.secretRm));
}
