/**
 * Structured logs (pino). Field names are stable across the code base:
 * `host`, `service`, `instance`, `epoch`, `rollout`, `err`. One line per event
 * worth an operator's time; per-heartbeat chatter belongs at "trace".
 */
import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export function isLogLevel(s: string): s is LevelWithSilent {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export function createLogger(component: string, level: LevelWithSilent = "info"): Logger {
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime });
}
