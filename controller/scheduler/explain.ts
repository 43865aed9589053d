/**
 * Why a slot found no host, in one line an operator can act on:
 *   "no spare host: 2 lack memoryMb>=4096, 1 is cordoned, 3 are occupied, 0 match dc=dc2"
 * Pure: it formats counts that tally.ts (or anyone) gathered.
 */
import { assertNever } from "./assert-never.js";
import type { RejectReason } from "./types.js";

export interface RejectionCount {
  readonly reason: RejectReason;
  readonly count: number;
}

export interface Rejections {
  /** Hosts passed over, per reason; each host counted once, for the first rule it failed. */
  readonly counts: readonly RejectionCount[];
  /** Constraints that no host in the fleet satisfies, whatever its state: usually the real problem. */
  readonly unmatched: readonly { readonly label: string; readonly allowed: readonly string[] }[];
}

/** `dc=dc2`, or `dc in [dc1,dc2]` when several values are allowed. */
export function describeConstraint(label: string, allowed: readonly string[]): string {
  return allowed.length === 1 ? `${label}=${allowed[0]}` : `${label} in [${allowed.join(",")}]`;
}

/** What a host rejected for `reason` "does", in the singular or plural: "lacks memoryMb>=4096". */
export function verb(reason: RejectReason, plural: boolean): string {
  const be = plural ? "are" : "is";
  switch (reason.kind) {
    case "not-ready":
      return `${be} not ready`;
    case "cordoned":
      return `${be} cordoned`;
    case "no-root":
      return `${plural ? "don't" : "doesn't"} allow run.user root (allowRoot: true in agent.yaml)`;
    case "occupied":
      return `${be} occupied`;
    case "avoided":
      return `${be} avoided (the slot must leave ${plural ? "them" : "it"})`;
    case "constraint":
      return `${plural ? "don't" : "doesn't"} match ${describeConstraint(reason.label, reason.allowed)}`;
    case "resources":
      return `${plural ? "lack" : "lacks"} ${reason.resource}>=${reason.need}`;
    default:
      return assertNever(reason);
  }
}

/** Ties in count are listed in the order the filters run (filters/chain.ts). */
function chainRank(reason: RejectReason): number {
  switch (reason.kind) {
    case "not-ready":
      return 0;
    case "cordoned":
      return 1;
    case "no-root":
      return 2;
    case "constraint":
      return 3;
    case "resources":
      return 4;
    case "avoided":
      return 5;
    case "occupied":
      return 6;
    default:
      return assertNever(reason);
  }
}

/** Most common reason first; the same reason given twice is counted once, summed. */
export function explain(rejections: Rejections): string {
  const merged = new Map<string, { reason: RejectReason; count: number; text: string }>();
  for (const { reason, count } of rejections.counts) {
    if (count <= 0) continue;
    const key = verb(reason, true);
    const m = merged.get(key);
    if (m) m.count += count;
    else merged.set(key, { reason, count, text: key });
  }
  const parts = [...merged.values()]
    .sort((a, b) => b.count - a.count || chainRank(a.reason) - chainRank(b.reason) || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
    .map((m) => `${m.count} ${verb(m.reason, m.count !== 1)}`);
  const unmatched = [...new Set(rejections.unmatched.map((u) => `0 match ${describeConstraint(u.label, u.allowed)}`))].sort();
  const all = [...parts, ...unmatched];
  return all.length === 0 ? "no spare host: the fleet has no hosts" : `no spare host: ${all.join(", ")}`;
}

/** One line per reason, naming every instance it holds back: 8 pending copies of one service say "no spare host" once, not 8 times. */
export function unplacedLines(insts: readonly { instance?: string; reason?: string }[]): string[] {
  const by = new Map<string, string[]>();
  for (const i of insts) if (i.reason) by.set(i.reason, [...(by.get(i.reason) ?? []), i.instance ?? "?"]);
  return [...by].map(([reason, names]) => `${names.length > 3 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ")}: ${reason}`);
}
