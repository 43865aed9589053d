#!/usr/bin/env node
/**
 * berth: the command line. One file per command group under commands/; this
 * file wires them together and turns every failure into a one-line message and
 * an exit code (README, "Exit codes"). --debug shows stack traces.
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../shared/version.js";
import { CliError, EXIT } from "./errors.js";
import type { GlobalOpts } from "./commands/common.js";
import { registerHosts } from "./commands/hosts.js";
import { registerEvents } from "./commands/events.js";
import { registerToken } from "./commands/token.js";
import { registerDaemons } from "./commands/daemons.js";
import { registerDev } from "./commands/dev.js";

const program = new Command();
program
  .name("berth")
  .description("berth: a fleet manager for bare-metal machines and VMs")
  .version(VERSION)
  .option("--addr <host:port>", "the controller (default: BERTH_ADDR, then the config file)")
  .option("--debug", "show stack traces")
  .showHelpAfterError("(add --help for usage)")
  .exitOverride();

const global = (): GlobalOpts => program.opts<GlobalOpts>();
registerDaemons(program);
registerDev(program);
registerHosts(program, global);
registerEvents(program, global);
registerToken(program, global);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; commander has already printed the usage error.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
  } else if (err instanceof CliError) {
    process.stderr.write(`berth: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ""}`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
    if (global().debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = EXIT.failed;
  }
}
