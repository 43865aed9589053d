/**
 * Exit codes scripts can rely on (README, "Exit codes"), and the one error type
 * the CLI prints: what went wrong and what to do, no stack trace unless --debug.
 */
export const EXIT = {
  ok: 0,
  /** The command ran and failed, or the controller refused it for a reason other than below. */
  failed: 1,
  /** Bad flags, arguments or local configuration. */
  usage: 2,
  /** The controller could not be reached. */
  unavailable: 3,
  /** The token was refused, or its role is too weak. */
  denied: 4,
  /** The host, service or token named does not exist. */
  notFound: 5,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}
