/** `berth exec`: descriptor; cli/run/exec.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

export function registerExec(program: Command): void {
  program
    .command("exec")
    .description("run a command on a host, or open a terminal there (admin); exits with the command's exit code")
    .argument("[host]", "host id, unique id prefix, or hostname")
    .argument("[command...]", "the command and its arguments, after --")
    .option("-i, --interactive", "send stdin even when it is a terminal (it is sent anyway when piped)")
    .option("-t, --tty", "a pseudo-terminal on the host (raw mode here, resizes passed on); with no command, the host's shell")
    .option("--service <name>", "on the host of an instance of this service, in its working dir, with its environment, as its user")
    .option("--instance <n>", "with --service: which instance (2 or web-2); default: the first one placed")
    .addHelpText(
      "after",
      `
Examples:
  berth exec 3fa9 -- uptime
  berth exec web-host-1 -- sh -c 'df -h /; free -m'
  echo hello | berth exec 3fa9 -- cat
  berth exec -it 3fa9                      # a shell: /bin/bash, else /bin/sh
  berth exec -it --service web -- ./bin/console
  berth exec --service web --instance 2 -- env

Exit codes: the remote command's (128 + n when signal n ended it; 127 when it does not
exist). berth exec's own failures (the token is not admin, no such host, service or
instance, a bad argument, the session lost) exit 255, as ssh's do, so no remote exit
code is ambiguous; the message says which.
A session whose client goes away is ended on the host, with everything it started.`,
    )
    .action(lazy(() => import("../run/exec.js"), (m) => m.exec));
}
