/**
 * HAProxy's runtime API over its stats socket, non-interactive: one connection
 * per command, HAProxy answers and closes. The socket needs `level admin`.
 */
import { createConnection } from "node:net";

export class HaproxySocketError extends Error {
  constructor(
    readonly socket: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HaproxySocketError";
  }
}

/** HAProxy answered, but not with success. */
export class HaproxyCommandError extends Error {
  constructor(
    readonly command: string,
    readonly answer: string,
  ) {
    super(`HAProxy refused "${command}": ${answer.trim().replace(/\s+/g, " ").slice(0, 300)}`);
    this.name = "HaproxyCommandError";
  }
}

/** @default 5 s: the runtime API answers in milliseconds; more means HAProxy is stuck. */
export const HAPROXY_COMMAND_TIMEOUT_MS = 5000;

export function haproxyCommand(socket: string, command: string, timeoutMs = HAPROXY_COMMAND_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = createConnection({ path: socket });
    const timer = setTimeout(() => {
      c.destroy();
      reject(new HaproxySocketError(socket, `HAProxy's socket ${socket} did not answer "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on("connect", () => c.end(`${command}\n`));
    c.on("data", (b: Buffer) => chunks.push(b));
    c.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new HaproxySocketError(socket, `cannot use HAProxy's socket ${socket}: ${err.code ?? err.message}`, { cause: err }));
    });
    c.on("close", (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

/**
 * Answers that mean done: `set server` says nothing, `add server` "New server
 * registered.", `del server` "Server deleted.".
 */
export function isSuccess(answer: string): boolean {
  const a = answer.trim();
  return a === "" || a === "New server registered." || a === "Server deleted.";
}
