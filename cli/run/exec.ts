/**
 * `berth exec HOST -- CMD [ARGS…]`, `berth exec -it HOST [-- SHELL]`,
 * `berth exec [-it] --service NAME [--instance N] [-- CMD]`: a command or a
 * terminal on a host, relayed by the controller (OperatorService.Exec). The CLI
 * exits with the remote command's exit code.
 *
 * With -t the local terminal is put in raw mode, so every key (Ctrl-C, Ctrl-D,
 * arrows) is a byte for the remote pty, as with ssh; resizes are passed on.
 * Flow control: output is written with backpressure (the call is paused while
 * stdout has not drained, which pauses the command on the host), and stdin is
 * read only as fast as the call takes it.
 */
import * as grpc from "@grpc/grpc-js";
import type { Command } from "commander";
import type { ExecServerMessage__Output } from "../../shared/gen/berth/v1/ExecServerMessage.js";
import { EXEC_MAX_CHUNK_BYTES } from "../../shared/exec/limits.js";
import { call, toCliError, type Api } from "../client.js";
import { CliError, EXIT, EXIT_EXEC_FAILED } from "../errors.js";
import { globalsOf, withApi, type GlobalOpts } from "./common.js";

interface ExecOpts {
  interactive?: boolean;
  tty?: boolean;
  service?: string;
  instance?: string;
}

/**
 * Splits the operands into the host and the command. Commander drops the "--",
 * so `dashAt` (how many operands came before it; -1: there was none) says
 * where the command starts.
 */
export function splitExecArgs(operands: string[], dashAt: number, o: { service?: string; tty?: boolean }): { host: string; command: string[] } {
  const before = dashAt < 0 ? operands : operands.slice(0, dashAt);
  const command = dashAt < 0 ? [] : operands.slice(dashAt);
  const hint = "usage: berth exec HOST -- CMD [ARGS…], berth exec -it HOST, berth exec --service NAME -- CMD";
  if (o.service) {
    if (before.length) throw new CliError(`give a host or --service, not both (got host "${before[0]}")`, EXIT.usage, hint);
    if (!command.length && !o.tty) throw new CliError("no command: give it after --, or use -it for a shell", EXIT.usage, hint);
    return { host: "", command };
  }
  if (!before.length) throw new CliError("no host: give a host id, id prefix or hostname, or --service", EXIT.usage, hint);
  if (before.length > 1) throw new CliError(`put the command after --: berth exec ${before[0]} -- ${before.slice(1).join(" ")}`, EXIT.usage);
  if (!command.length && !o.tty) throw new CliError("no command: give it after --, or use -it for a shell", EXIT.usage, hint);
  return { host: before[0]!, command };
}

/** Where "--" sat among the exec command's operands (-1: nowhere), from the raw argv. */
function dashIndex(argv: string[], operands: string[]): number {
  const at = argv.indexOf("--");
  if (at < 0) return -1;
  const after = argv.length - at - 1;
  return Math.max(0, operands.length - after);
}

/** The local TERM when the controller would take it; else "" (the host's default). */
function termName(t: string | undefined): string {
  return t && t.length <= 64 && /^[A-Za-z0-9._+-]+$/.test(t) ? t : "";
}

/** The local terminal's size, from whichever output stream is one. */
function terminalSize(): { rows: number; cols: number } {
  const s = [process.stdout, process.stderr].find((x) => x.isTTY);
  return { rows: s?.rows ?? 0, cols: s?.columns ?? 0 };
}

export async function exec(hostArg: string | undefined, commandArgs: string[], o: ExecOpts, cmd: Command): Promise<void> {
  try {
    await execAction(hostArg, commandArgs, o, globalsOf(cmd));
  } catch (e) {
    // As ssh: the remote command owns every exit code but 255, which is ours.
    if (e instanceof CliError) throw new CliError(e.message, EXIT_EXEC_FAILED, e.hint);
    throw new CliError(e instanceof Error ? e.message : String(e), EXIT_EXEC_FAILED);
  }
}


async function execAction(hostArg: string | undefined, commandArgs: string[], o: ExecOpts, g: GlobalOpts): Promise<void> {
  const operands = [...(hostArg === undefined ? [] : [hostArg]), ...commandArgs];
  const { host, command } = splitExecArgs(operands, dashIndex(process.argv, operands), o);
  if (o.instance !== undefined && !o.service) throw new CliError("--instance needs --service", EXIT.usage);
  const tty = Boolean(o.tty) && ttyUsable(process.stdin.isTTY === true);
  process.exitCode = await withApi(g, async (api) => {
    try {
      return await runSession(api, { host, command, service: o.service ?? "", instance: o.instance ?? "", tty, interactive: Boolean(o.interactive) });
    } catch (e) {
      throw await serviceNamedAsHost(api, e, host, o.service);
    }
  });
}

/**
 * `berth exec web -- …` where web is a service, not a host: the host is not found, and the
 * hint says what was meant (`--service web`) rather than only where hosts are listed.
 */
async function serviceNamedAsHost(api: Api, e: unknown, host: string, service: string | undefined): Promise<unknown> {
  if (service || !(e instanceof CliError) || e.exitCode !== EXIT.notFound || !e.message.startsWith("no host ")) return e;
  const isService = await call(api, api.client.GetService, { name: host }).then(
    () => true,
    () => false,
  );
  if (!isService) return e;
  const rest = process.argv.includes("--") ? " -- …" : "";
  return new CliError(`${e.message}: ${host} is a service, not a host`, e.exitCode, `berth exec --service ${host}${rest} runs it on a host of that service, in its environment`);
}

/**
 * -t with stdin not a terminal (a pipe, a file, a CI job): a terminal on the host would
 * echo the input back and wrap the output in its control codes, which a script then
 * has to strip. As kubectl exec does, it runs without one and says so; -it with no
 * command still gets the host's shell, reading the piped input.
 */
export function ttyUsable(stdinIsTTY: boolean, warn: (line: string) => void = (l) => process.stderr.write(l)): boolean {
  if (stdinIsTTY) return true;
  warn("berth: stdin is not a terminal: running without one (-t ignored)\n");
  return false;
}

function runSession(
  api: Api,
  o: { host: string; command: string[]; service: string; instance: string; tty: boolean; interactive: boolean },
): Promise<number> {
  const stdin = process.stdin;
  const raw = o.tty && stdin.isTTY;
  // Keys typed into a terminal are sent with -i or -t; piped input always.
  const sendStdin = o.interactive || o.tty || !stdin.isTTY;
  const size = terminalSize();
  const call = api.client.Exec(api.metadata);

  return new Promise<number>((resolve, reject) => {
    let result: { code: number; signal: string } | undefined;
    let done = false;
    let interrupted: number | undefined;
    const outputs = [process.stdout, process.stderr];
    let draining = 0;

    const cleanup = (): void => {
      if (raw) stdin.setRawMode(false);
      stdin.off("data", onStdin);
      stdin.off("end", onStdinEnd);
      stdin.pause();
      // A terminal on stdin would keep the process alive.
      if (stdin.isTTY) stdin.destroy();
      for (const s of outputs) {
        s.off("resize", onResize);
        s.off("error", onOutputError);
      }
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onSignal);
      process.off("exit", restore);
    };
    const settle = (f: () => void): void => {
      if (done) return;
      done = true;
      cleanup();
      f();
    };
    const restore = (): void => {
      if (raw) stdin.setRawMode(false);
    };

    const write = (s: NodeJS.WriteStream, data: Buffer): void => {
      if (s.write(data)) return;
      // The terminal or pipe is behind: stop taking output, which pauses the command on the host.
      if (draining++ === 0) call.pause();
      s.once("drain", () => {
        if (--draining === 0) call.resume();
      });
    };

    const onStdin = (chunk: Buffer): void => {
      let ok = true;
      for (let i = 0; i < chunk.length; i += EXEC_MAX_CHUNK_BYTES) ok = call.write({ stdin: chunk.subarray(i, i + EXEC_MAX_CHUNK_BYTES) }) && ok;
      if (!ok) {
        stdin.pause();
        call.once("drain", () => {
          if (!done) stdin.resume();
        });
      }
    };
    const onStdinEnd = (): void => {
      if (done) return;
      call.write({ stdin_eof: {} });
      call.end();
    };
    const onResize = (): void => {
      const { rows, cols } = terminalSize();
      if (rows > 0 && cols > 0 && !done) call.write({ resize: { rows, cols } });
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      // Only without -t (with -t, Ctrl-C is a byte for the remote terminal): end
      // the session; the controller and the agent end the command.
      interrupted = sig === "SIGINT" ? 130 : sig === "SIGTERM" ? 143 : 129;
      call.cancel();
    };

    // A reader that went away (`berth exec … | head`): end the session as a shell pipeline would.
    const onOutputError = (): void => {
      interrupted ??= 141;
      call.cancel();
    };
    for (const s of outputs) s.on("error", onOutputError);

    call.on("data", (m: ExecServerMessage__Output) => {
      switch (m.msg) {
        case "started":
          if (raw) stdin.setRawMode(true);
          if (sendStdin) {
            stdin.on("data", onStdin);
            stdin.on("end", onStdinEnd);
            stdin.resume();
          } else {
            onStdinEnd();
          }
          if (o.tty) for (const s of outputs) if (s.isTTY) s.on("resize", onResize);
          return;
        case "stdout":
          if (m.stdout) write(process.stdout, m.stdout);
          return;
        case "stderr":
          if (m.stderr) write(process.stderr, m.stderr);
          return;
        case "exit":
          result = m.exit ? { code: m.exit.code, signal: m.exit.signal } : undefined;
          return;
        case undefined:
          return;
        default: {
          const never: never = m.msg;
          return never;
        }
      }
    });
    call.on("error", (err: Error & { code?: number; details?: string }) => {
      settle(() => {
        if (interrupted !== undefined) return resolve(interrupted);
        if (raw) process.stderr.write("\r\n");
        const details = err.details ?? err.message;
        // A host that is not connected is the controller's answer (and says what
        // to do), not an unreachable controller.
        if (err.code === grpc.status.UNAVAILABLE && /^host \S+/.test(details)) return reject(new CliError(details, EXIT.failed));
        reject(toCliError(err, api.cfg.addr));
      });
    });
    call.on("end", () => {
      settle(() => {
        if (result) return resolve(result.code >= 0 && result.code <= 255 ? result.code : EXIT.failed);
        reject(new CliError("the session ended without an exit code", EXIT.failed));
      });
    });

    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);
    process.on("exit", restore);
    call.write({
      start: { host: o.host, service: o.service, instance: o.instance, command: o.command, tty: o.tty, rows: size.rows, cols: size.cols, term: o.tty ? termName(process.env.TERM) : "" },
    });
  });
}
