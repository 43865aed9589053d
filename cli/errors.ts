import { clip, quote } from "../shared/text/quote.js";

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

/** `berth exec` could not run the command (refused, unknown host, lost, bad arguments): 255, as ssh. */
export const EXIT_EXEC_FAILED = 255;

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

/** How much of a value the user gave an error repeats: enough to recognise it, never 100 KB. */
export const SHOWN_INPUT_CHARS = 64;

/**
 * A value the user gave, as an error shows it: cut to SHOWN_INPUT_CHARS, and quoted
 * (JSON, so a newline or escape reads as \n, \u001b) unless it is plain printable text.
 */
export function shownInput(value: string): string {
  return /^[\x21-\x7e]+$/.test(value.slice(0, SHOWN_INPUT_CHARS - 1)) ? clip(value, SHOWN_INPUT_CHARS) : quote(value, SHOWN_INPUT_CHARS - 1);
}
