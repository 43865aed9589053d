/**
 * A controller group's members as clients know them (agent --controller, the
 * CLI's BERTH_ADDR and config file): a list of HOST:PORT, and which one to try
 * next. Pure: the random source is injected, so the order is testable.
 *
 * Every member serves agents and operators and shares one CA, whose server
 * certificates all carry CONTROLLER_TLS_NAME: any member verifies alike, and
 * a host's identity (certificate, host id) is the same on each.
 */
import { AddressError, formatHostPort, parseHostPort } from "./addr.js";
import { backoffDelayMs, type BackoffPolicy } from "./backoff.js";

export class MemberListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MemberListError";
  }
}

/**
 * "a:7420,b:7420,c" (or those as a list, from YAML or JSON) → normalized HOST:PORT
 * strings, in the order given. Empty entries, bad addresses and duplicates (after
 * normalization: "a" and "a:7420" are one member) are errors that name the entry.
 */
export function parseMemberList(input: string | readonly string[], defaultPort?: number): string[] {
  const parts = typeof input === "string" ? input.split(",") : input.flatMap((s) => s.split(","));
  if (parts.every((p) => !p.trim())) throw new MemberListError("no address given (expected HOST:PORT[,HOST:PORT…], e.g. 10.0.0.5:7420,10.0.0.6:7420)");
  const out: string[] = [];
  const problems: string[] = [];
  parts.forEach((raw, i) => {
    const p = raw.trim();
    if (!p) return problems.push(`member ${i + 1} is empty`);
    let norm: string;
    try {
      const hp = parseHostPort(p, defaultPort);
      // Port 0 listens on any free port; nothing can be dialled there.
      if (hp.port === 0) throw new AddressError(p, "port 0 cannot be dialled: give the port the controller listens on (7420 unless --listen says otherwise)");
      norm = formatHostPort(hp);
    } catch (e) {
      return problems.push(e instanceof AddressError ? `member ${i + 1}: ${e.message}` : String(e));
    }
    const twin = out.indexOf(norm);
    if (twin >= 0) return problems.push(`member ${i + 1} "${p}" repeats member ${twin + 1} (${norm})`);
    out.push(norm);
  });
  if (problems.length) throw new MemberListError(problems.join("; "));
  return out;
}

export function formatMemberList(members: readonly string[]): string {
  return members.join(",");
}

/** A random permutation (Fisher–Yates) of 0..n-1. */
export function shuffledOrder(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Which member an agent dials next. Each agent walks the members in an order
 * of its own, drawn at random once: so a fleet starts spread over the members,
 * and the agents of a member that dies spread over the others too (a shared
 * order would send them all to the same next one).
 *
 * - first(): the start of the agent's order.
 * - lost(): the current member failed or dropped: the next in the order.
 * - movedOn(preferred): the member told the agent to go: the preferred member
 *   when it is one of ours and not this one, else the next in the order —
 *   never the same member first (it just said it cannot serve).
 * - welcomed(): the current member served: remembered as the last good one.
 */
export class MemberRotation {
  private readonly order: number[];
  private pos = 0;
  private good: number | undefined;

  constructor(
    readonly members: readonly string[],
    random: () => number = Math.random,
  ) {
    if (members.length === 0) throw new MemberListError("no controller member to connect to");
    this.order = shuffledOrder(members.length, random);
  }

  get current(): string {
    return this.members[this.order[this.pos]!]!;
  }

  /** The last member that welcomed this agent, if any. */
  get lastGood(): string | undefined {
    return this.good === undefined ? undefined : this.members[this.good];
  }

  welcomed(): void {
    this.good = this.order[this.pos];
  }

  lost(): string {
    this.pos = (this.pos + 1) % this.order.length;
    return this.current;
  }

  movedOn(preferred?: string): string {
    const here = this.current;
    let want: string | undefined;
    if (preferred) {
      try {
        want = formatHostPort(parseHostPort(preferred));
      } catch {
        want = undefined;
      }
    }
    const i = want === undefined || want === here ? -1 : this.members.indexOf(want);
    if (i >= 0) {
      this.pos = this.order.indexOf(i);
      return this.current;
    }
    return this.lost();
  }
}

/**
 * The agent's wait before dialling the next member.
 * - Capped at TTL/2: a restarted controller (or a new leader) gives each host one
 *   TTL of grace, so an agent must be back well within it.
 * - Growing per round over the members, not per member: a live member behind
 *   dead ones is reached within that grace. One member: one try per round, as a
 *   single controller always had.
 * - refused (the dial failed at once: nothing listens there — a member restarting):
 *   the next member of the round is dialled after the first step's delay, and the
 *   grown wait is paid once a round. After every member restarted at once, an agent
 *   whose order put the first member to serve last waited up to 2 × 2.5 s more for
 *   it (measured, bench:agents --controllers 3). Only then: a member that answered
 *   slowly, failed a TLS handshake or sent the agent away (MoveOn) is overloaded or
 *   cut off, and dialling the next one sooner would only add to the load (at 1,000
 *   agents a storm of quick retries against saturated members never settled).
 * - failures: dials in a row that did not end in a kept stream (0 right after a
 *   stream that served; a MoveOn counts as a failure).
 * - fatal (the member refused this agent): the cap at once.
 * Example (defaults, TTL 5 s, 3 members): failures 0–2 → 100–200 ms, 3–5 → 200–400 ms,
 * … ≤ 2.5 s; refused each time: 0–2 → 100–200 ms; 3 → 200–400 ms, 4–5 → 100–200 ms;
 * 6 → 400–800 ms, … a round's wait ≤ 2.5 s.
 */
export function reconnectDelayMs(
  base: BackoffPolicy,
  o: { ttlMs: number; failures: number; members: number; fatal: boolean; refused?: boolean },
  random: () => number = Math.random,
): number {
  const policy = { ...base, maxMs: Math.min(base.maxMs, Math.floor(o.ttlMs / 2)) };
  if (o.fatal) return policy.maxMs;
  const members = Math.max(1, o.members);
  const round = Math.floor(o.failures / members);
  // Mid-round (members of this round not tried yet) after one where nothing listens: the first step.
  const midRound = o.failures % members !== 0 && o.refused === true;
  return backoffDelayMs(policy, midRound ? 0 : round, random);
}

/**
 * Whether a dial that ended without a Welcome was refused at once (nothing listens at
 * that address), judged by how long it took: a refused TCP connect fails within
 * milliseconds, a member that is up but saturated takes its time over the TLS
 * handshake or the Hello. reconnectDelayMs's `refused`. Pure.
 */
export function refusedAtOnce(o: { welcomed: boolean; sentAway: boolean; tookMs: number }): boolean {
  return !o.welcomed && !o.sentAway && o.tookMs < REFUSED_WITHIN_MS;
}

/** A dial that fails within this long found nothing listening. */
export const REFUSED_WITHIN_MS = 500;

/**
 * How a member's answer begins when it cannot reach its store (UNAVAILABLE, from
 * controller/member/api/errors.ts): clients tell it from a lost connection by it — the
 * member answered, another member may reach the store.
 */
export const STORE_UNAVAILABLE_PREFIX = "this controller cannot reach its store: ";

/**
 * How such an answer to a change ends when the member refused it before sending anything to
 * its store (controller/member/api/operator-service.ts): nothing was changed, so a client
 * may ask another member, as it would for a read.
 */
export const WRITE_NOT_SENT = "nothing was changed: this member sends no write to a store it cannot reach";
