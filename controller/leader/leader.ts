/**
 * What only the leader runs, as one term (leadership.ts): the failure detector on
 * a ticker, the mass-failure guard after each of its passes, and the reconcile
 * loop (which drives rollouts). A term's grace period starts when the term does:
 * after a controller start or a leadership change, every host gets that long to
 * be heard from before it is judged (DESIGN.md, "The control plane"), and longer
 * while hosts are still coming back (failure/comeback-grace.ts).
 */
import type { Logger } from "../../shared/log/logger.js";
import { Coalescer } from "../../shared/coalesce.js";
import { setIntervalClamped, setTimeoutClamped } from "../../shared/timer.js";
import type { DetectorConfig, LivenessInput } from "../failure/detector.js";
import { ComebackGrace, comebackConfig } from "../failure/comeback-grace.js";
import type { ReconcileLoop } from "../reconcile/loop.js";
import { failurePass, type FailurePassDeps } from "./failure-pass.js";
import type { LeaderTerm } from "./leadership.js";

export interface LeaderDeps extends Omit<FailurePassDeps, "onTransition"> {
  loop: ReconcileLoop;
  /** Starts this term's GitOps runner (controller/gitops/runner.ts), when the controller follows sources. */
  gitops?: () => { start(): void; stop(): Promise<void> };
  /** How long after the term starts a host never heard from may take to be. @default ttlMs */
  graceMs?: number;
  /**
   * A host heard from longer ago than this was silent; heard again, it came back, and
   * the grace lasts a TTL past the last such return (failure/comeback-grace.ts). Two
   * heartbeats, plus a report period in a group. @default ttlMs / 2
   */
  comebackSilentMs?: number;
  /**
   * The hosts as their members reported them, without the grace of a silent member
   * (failure/liveness.ts SilentMemberGrace moves a heard time on): who came back is
   * judged on when hosts were really heard. @default liveness
   */
  comebackLiveness?: () => LivenessInput[];
  /** The group's registered members (member/group.ts), read every membersEveryMs while leading: one starting to serve renews the grace. */
  members?: () => Promise<readonly { id: string; startedAtMs: number }[]>;
  /** @default ttlMs / 3 */
  membersEveryMs?: number;
  /** Each time the members were read (member/gone-members.ts judges who went missing). */
  onMembers?: (members: readonly { id: string; startedAtMs: number }[]) => void;
  /** The mass-failure guard's share: that share of the ready hosts silent at once holds the term's grace (failure/comeback-grace.ts). @default DEFAULT_GUARD_SHARE */
  massShare?: number;
  /** How long this process stalled after a time, capped (member/stall-watch.ts): not counted as a host's silence. */
  stalledSince?: (mono: number) => number;
  log: Logger;
}

export interface LeaderRun extends LeaderTerm {
  /** Runs the failure detector now (a host's liveness may have changed). */
  judge(): void;
}

/**
 * How often the failure detector looks at every host when nothing kicks it: a tenth of
 * the TTL, 50 ms to 500 ms. A host is declared down by the wake-up at its own deadline
 * (nextDownAt), and a Hello kicks a pass, so the ticker is the net under those: hosts of
 * other members turning ready (their reports), fencing cleared, the guard's early look at
 * hosts gone silent. Each tick is a pass over the fleet; at a twentieth of the TTL (250 ms
 * at 5 s) the passes took 7 % of a core with 3,000 agents (README, "Heartbeats at scale").
 */
export function detectorTickMs(ttlMs: number): number {
  return Math.max(50, Math.min(500, Math.floor(ttlMs / 10)));
}

export function startLeading(d: LeaderDeps): LeaderRun {
  const startedMono = d.mono();
  const graceMs = Math.max(d.ttlMs, d.graceMs ?? d.ttlMs);
  // The grace runs from the term's start and lasts while hosts keep coming back (a fleet
  // reconnecting after every member restarted): each pass notes who returned.
  // Before the first detector pass: a reconcile pass asks the guard too, and must not meet the last term's grace.
  d.guard.judgingFrom(startedMono + graceMs);
  const comeback = new ComebackGrace(comebackConfig({ termStartMono: startedMono, graceMs, ttlMs: d.ttlMs, silentMs: d.comebackSilentMs ?? Math.floor(d.ttlMs / 2), ...(d.massShare !== undefined ? { massShare: d.massShare } : {}) }));
  // The grace's end is logged once a term, with what held it open: after a storm, why hosts were (or were not) judged.
  let graceOverLogged = false;
  const detector = (hosts: readonly LivenessInput[], nowMono: number): DetectorConfig => {
    comeback.note(d.comebackLiveness?.() ?? hosts, nowMono);
    const graceUntilMs = comeback.graceUntil();
    d.guard.judgingFrom(graceUntilMs);
    if (!graceOverLogged && nowMono >= graceUntilMs) {
      graceOverLogged = true;
      const heard = hosts.filter((h) => h.lastHeartbeatMs !== undefined && nowMono - h.lastHeartbeatMs <= d.ttlMs).length;
      d.log.info({ ...comeback.describe(nowMono), hosts: hosts.length, heardWithinTtl: heard }, "the term's grace is over: hosts are judged from now");
    }
    return { ttlMs: d.ttlMs, startedAtMs: startedMono, graceUntilMs, ...(d.stalledSince ? { stalledSince: d.stalledSince } : {}) };
  };
  // Members that start serving during the term (it may lead seconds before the others listen).
  let readingMembers = false;
  const readMembers = (): void => {
    if (!d.members || readingMembers) return;
    readingMembers = true;
    d.members()
      .then((ms) => {
        comeback.noteMembers(ms, d.mono());
        d.onMembers?.(ms);
      })
      .catch((err: unknown) => d.log.debug({ err }, "reading the group's members for the grace failed"))
      .finally(() => (readingMembers = false));
  };
  readMembers();
  const membersTicker = d.members ? setIntervalClamped(readMembers, d.membersEveryMs ?? Math.max(100, Math.floor(d.ttlMs / 3))) : undefined;
  const tickMs = detectorTickMs(d.ttlMs);
  // Every hello, and every heartbeat of a host not yet ready, kicks this fleet-wide pass:
  // paced (shared/coalesce.ts), a fleet joining keeps it to a quarter of the time, and a
  // kick waits at most one tick — as long as it could have waited for the ticker anyway.
  // And a wake-up for the next host's TTL: declared down when it runs out, not up to a tick later.
  let wake: NodeJS.Timeout | undefined;
  const runner: Coalescer = new Coalescer(
    async () => {
      // A host down always has the loop look (its instance may need replacing). A host
      // turning ready only when the last pass left something waiting for a host: else
      // the loop's own tick takes it in, so a joining fleet does not ask for a
      // fleet-wide pass per detector pass (README, "Joins and memory").
      const onTransition = (to: "ready" | "down"): void => {
        if (to === "down" || d.loop.waitsForHosts()) d.loop.kick();
      };
      const next = await failurePass({ ...d, onTransition, onTransitionsDone: () => d.loop.kickNow() }, detector);
      clearTimeout(wake);
      // Only ahead of now: a host that is due already and was not declared down (its write
      // did not go through) is left to the ticker, so a failing write cannot spin the pass.
      const inMs = next === null ? Number.NaN : next - d.mono();
      if (inMs > 0) {
        wake = setTimeoutClamped(() => runner.kickNow(), inMs);
        wake.unref();
      }
    },
    (err) => d.log.error({ err }, "failure detector pass failed"),
    { maxShare: 0.25, maxDelayMs: tickMs },
  );
  const ticker = setIntervalClamped(() => runner.kick(), tickMs);
  d.loop.start(d.via);
  const gitops = d.gitops?.();
  gitops?.start();
  d.log.info("leading: reconcile, failure detection, the guard and GitOps run here");
  let stopping: Promise<void> | undefined;
  return {
    judge: () => runner.kick(),
    stop() {
      stopping ??= (async () => {
        clearInterval(ticker);
        clearInterval(membersTicker);
        clearTimeout(wake);
        // GitOps first: a sync applies through the loop's state, never after the loop stopped.
        await gitops?.stop();
        await d.loop.stop();
        await runner.close();
      })();
      return stopping;
    },
  };
}
