/**
 * Timers whose delay comes from data (a spec, a stored record, a peer's message).
 * Node keeps a timer's delay in a signed 32-bit int: a delay above 2^31−1 ms (about
 * 24.8 days), or one that is not a number, is replaced by 1 ms with only a warning.
 * A wake-up 30 days out would then fire at once, re-arm, fire again: a loop that
 * spins. Every timer in controller/ and agent/ whose delay is not a constant goes
 * through here; a clamped timer that fires early only makes its owner look again
 * and re-arm for what is left, which every such owner does anyway.
 */

/** The longest delay Node honours (2^31−1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The delay to give Node: negative → 0, above MAX_TIMER_MS (Infinity included) →
 * MAX_TIMER_MS. Not a number → MAX_TIMER_MS: waiting long is harmless where firing
 * at once, again and again, is what spins.
 */
export function clampDelayMs(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIMER_MS;
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

/** setTimeout with the delay clamped (clampDelayMs). */
export function setTimeoutClamped(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(fn, clampDelayMs(ms));
}

/** setInterval with the period clamped (clampDelayMs); a period of 0 would spin, so at least 1 ms. */
export function setIntervalClamped(fn: () => void, ms: number): NodeJS.Timeout {
  return setInterval(fn, Math.max(1, clampDelayMs(ms)));
}
