import type { SchedHost } from "./types.js";

/**
 * The host's value for a label, or undefined when it has none.
 * Own properties only: labels arrive as a plain object, and a constraint on
 * `constructor` must not find Object.prototype's.
 */
export function labelOf(host: SchedHost, key: string): string | undefined {
  return Object.hasOwn(host.labels, key) ? host.labels[key] : undefined;
}
