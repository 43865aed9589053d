/**
 * berth's command tree: one descriptor file per command group under commands/
 * (names, flags, help: cheap to load), its work under run/, imported only by the
 * command that runs (commands/lazy.ts says why). This file wires them together,
 * and runCli turns every failure into a one-line message and an exit code
 * (README, "Exit codes"). --debug shows stack traces.
 *
 * Loading it does nothing but build the tree: no argv, environment, clock or
 * stdio is read until runCli, so the start-up snapshot (cli/snapshot.ts) can
 * hold it built.
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../shared/version.js";
import { CliError, EXIT, EXIT_EXEC_FAILED } from "./errors.js";
import { callsOver } from "./calls-over.js";
import { sanitizeLines } from "../shared/text/sanitize.js";
import type { GlobalOpts } from "./run/common.js";
import { registerHosts } from "./commands/hosts.js";
import { registerControllers } from "./commands/controllers.js";
import { registerCa } from "./commands/ca.js";
import { registerEvents } from "./commands/events.js";
import { registerToken } from "./commands/token.js";
import { registerDaemons } from "./commands/daemons.js";
import { registerDev } from "./commands/dev.js";
import { registerApply } from "./commands/apply.js";
import { registerRender } from "./commands/render.js";
import { registerServices } from "./commands/services.js";
import { registerRollout } from "./commands/rollout.js";
import { registerCompletion } from "./commands/completion.js";
import { registerExec } from "./commands/exec.js";
import { registerSecret } from "./commands/secret.js";
import { registerGitops } from "./commands/gitops.js";
import { registerLb } from "./lb/command.js";

/** The whole command tree; importing this module builds it without running it (completion tests walk it). */
export const program = new Command();
program
  .name("berth")
  .description("berth: a fleet manager for bare-metal machines and VMs")
  .version(VERSION)
  .option("--debug", "show stack traces")
  // Also before the command (`berth --addr h:7420 hosts`), as kubectl's --server goes.
  .option("--addr <host:port,...>", "the controller, or every member of a controller group, comma-separated (default: BERTH_ADDR, then the config file)")
  // Each command owns the flags after its name: `agent --controller` and
  // `agent install --controller` are different flags of different commands.
  .enablePositionalOptions()
  .showHelpAfterError("(add --help for usage)")
  .exitOverride();

/** `berth exec`, whose own failures exit 255 (as ssh's): a remote command owns every other code. */
const isExec = (c: Command): boolean => c.name() === "exec" && c.parent === program;

/** Flags where an empty value means something: `--prefix ""` is no prefix (install scripts pass "$DESTDIR"). */
const EMPTY_OK = new Set(["prefix"]);

// The command being run, so shared flags (--addr, --debug) are read from it.
let running: Command = program;
program.hook("preAction", (root, action) => {
  running = action;
  // A daemon takes its own flags (--controller, --listen): an --addr before it would be ignored.
  if (root.opts<{ addr?: string }>().addr !== undefined && DAEMONS.has(action.name())) {
    throw new CliError(`--addr names the controller an operator command calls; berth ${action.name()} does not take it`, EXIT.usage, `see berth ${action.name()} --help`);
  }
  // An empty value given on the command line (`--host "$H"` with H unset) is a mistake, not "no
  // filter": `events --host ""` listed every host's events and `exec --instance ""` picked one.
  for (const cmd of [root, action]) {
    for (const o of cmd.options) {
      const key = o.attributeName();
      if (!o.required || EMPTY_OK.has(key) || cmd.getOptionValueSource(key) !== "cli" || cmd.getOptionValue(key) !== "") continue;
      const name = [o.short, o.long].filter(Boolean).join("/");
      throw new CliError(`${name}: empty value`, isExec(action) ? EXIT_EXEC_FAILED : EXIT.usage, `leave ${o.long ?? o.short} out, or give it a value (is a shell variable unset?)`);
    }
  }
});
const global = (): GlobalOpts => ({ ...running.optsWithGlobals<GlobalOpts>(), ...running.opts<GlobalOpts>() });

registerDaemons(program);
registerDev(program);
registerHosts(program);
registerControllers(program);
registerCa(program);
registerEvents(program);
registerToken(program);
registerApply(program);
registerRender(program);
registerServices(program);
registerRollout(program);
registerCompletion(program);
registerExec(program);
registerSecret(program);
registerGitops(program);
registerLb(program);

/** Commands that run a daemon (or only read files, as render) rather than call the API take no --addr. */
const DAEMONS = new Set(["controller", "agent", "install", "dev", "schema", "completion", "render"]);
/** Commands with subcommands that also run on their own (`berth controllers`, `berth agent`): they take the shared flags too. */
const OWN_ACTION = new Set(["agent", "controllers"]);
(function addSharedFlags(cmd: Command): void {
  for (const sub of cmd.commands) {
    // `berth exec`'s own failures exit 255 (as ssh's), bad flags included: a remote command owns every other code.
    sub.enablePositionalOptions().exitOverride(
      isExec(sub)
        ? (err) => {
            throw new CommanderError(err.exitCode === 0 ? 0 : EXIT_EXEC_FAILED, err.code, err.message);
          }
        : undefined,
    );
    if (sub.commands.length === 0 || (cmd === program && OWN_ACTION.has(sub.name()))) {
      if (!DAEMONS.has(sub.name())) sub.option("--addr <host:port,...>", "the controller, or every member of a controller group, comma-separated (default: BERTH_ADDR, then the config file)");
      sub.option("--debug", "show stack traces");
    }
    addSharedFlags(sub);
  }
})(program);

/** Resolves once everything written to the stream has been handed to the OS (or the stream failed). */
function flushed(s: NodeJS.WriteStream): Promise<void> {
  if (s.writableLength === 0 || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => s.write("", () => resolve()));
}

/** Parses argv and runs the command; sets process.exitCode (README, "Exit codes"). */
export async function runCli(argv: string[]): Promise<void> {
  // `berth … | head` closes the pipe early: that is the reader's choice, not a failure
  // (as with any Unix tool, stop quietly rather than print a stack).
  for (const out of [process.stdout, process.stderr]) {
    out.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander has already printed the usage error.
      process.exitCode = err.exitCode === 0 ? 0 : err.exitCode === EXIT_EXEC_FAILED ? EXIT_EXEC_FAILED : EXIT.usage;
    } else if (err instanceof CliError) {
      // Messages carry the controller's words, and in them hosts' (names, reasons): sanitized.
      process.stderr.write(`berth: ${sanitizeLines(err.message)}\n${err.hint ? `  ${sanitizeLines(err.hint)}\n` : ""}`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`berth: ${sanitizeLines(err instanceof Error ? err.message : String(err))}\n`);
      if (global().debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      process.exitCode = EXIT.failed;
    }
  }
  // Exit once what was written has gone out: into a pipe whose reader is slower than us (`| less`,
  // `| (sleep 1; wc -l)`), a write past the pipe's 64 KiB waits in Node's queue, and exiting at once
  // cut `berth logs` and `events -o json` short with exit 0.
  if (callsOver()) {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(process.exitCode ?? 0);
  }
}
