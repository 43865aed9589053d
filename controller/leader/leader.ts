/**
 * What only the leader runs, as one term (leadership.ts): the failure detector on
 * a ticker, the mass-failure guard after each of its passes, and the reconcile
 * loop (which drives rollouts). A term's grace period starts when the term does:
 * after a controller start or a leadership change, every host gets that long to
 * be heard from before it is judged (DESIGN.md, "The control plane").
 */
import type { Logger } from "../../shared/log/logger.js";
import { Coalescer } from "../../shared/coalesce.js";
import { setIntervalClamped, setTimeoutClamped } from "../../shared/timer.js";
import type { DetectorConfig } from "../failure/detector.js";
import type { ReconcileLoop } from "../reconcile/loop.js";
import { failurePass, type FailurePassDeps } from "./failure-pass.js";
import type { LeaderTerm } from "./leadership.js";

export interface LeaderDeps extends Omit<FailurePassDeps, "onTransition"> {
  loop: ReconcileLoop;
  /** Starts this term's GitOps runner (controller/gitops/runner.ts), when the controller follows sources. */
  gitops?: () => { start(): void; stop(): Promise<void> };
  /** How long after the term starts a host never heard from may take to be. @default ttlMs */
  graceMs?: number;
  log: Logger;
}

export interface LeaderRun extends LeaderTerm {
  /** Runs the failure detector now (a host's liveness may have changed). */
  judge(): void;
}

export function startLeading(d: LeaderDeps): LeaderRun {
  const startedMono = d.mono();
  const detector: DetectorConfig = { ttlMs: d.ttlMs, startedAtMs: startedMono, graceUntilMs: startedMono + Math.max(d.ttlMs, d.graceMs ?? d.ttlMs) };
  const tickMs = Math.max(50, Math.min(500, Math.floor(d.ttlMs / 20)));
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
