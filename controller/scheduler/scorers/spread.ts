/**
 * Soft rule, strongest: spread a service's instances over the values of its
 * `spread` label (a failure domain such as dc), preferring the value that has
 * the fewest instances of this service so far. Hosts lacking the label form
 * one more value of their own, "".
 *
 * Counts are of instances that stay or were placed earlier in this plan; an
 * instance that is being moved counts where it lands, not where it leaves.
 */
import { labelOf } from "../labels.js";
import type { SchedHost } from "../types.js";

export function spreadValue(host: SchedHost, key: string): string {
  return key === "" ? "" : (labelOf(host, key) ?? "");
}

export class SpreadCounts {
  private readonly counts = new Map<string, number>();

  /** `key` "" = the service does not spread: every host is in the one value "" and counts never matter. */
  constructor(readonly key: string) {}

  count(value: string): number {
    return this.counts.get(value) ?? 0;
  }

  /** One more instance of the service on `host`. */
  add(host: SchedHost): void {
    if (this.key === "") return;
    const v = spreadValue(host, this.key);
    this.counts.set(v, this.count(v) + 1);
  }
}

/** Higher is better: minus the instances already in the host's value. */
export function spreadScore(counts: SpreadCounts, host: SchedHost): number {
  return -counts.count(spreadValue(host, counts.key));
}
