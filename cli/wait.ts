/**
 * Following a change until it is done (drain --wait, apply --wait): poll the
 * controller, show where things stand with cli/progress, stop at the deadline.
 * The change itself goes on whatever happens here: waiting is only watching.
 */
import { FLAG_LIMITS, parseDurationFlag } from "./duration-flag.js";
import { CliError, EXIT } from "./errors.js";
import { progress, type Progress, type ProgressUpdate } from "./progress.js";
import { render } from "./output.js";
import { WATCH_RETRY_MS } from "./watch.js";

export function parseTimeout(s: string): number {
  return parseDurationFlag("--timeout", s, { positive: true, max: FLAG_LIMITS.waitTimeout });
}

/** `--timeout` given without `--wait` would be ignored without a word: a usage error instead (as `restart --timeout` without -w). */
export function timeoutNeedsWait(cmd: { getOptionValueSource(key: string): string | undefined }, wait: boolean | undefined): void {
  if (!wait && cmd.getOptionValueSource("timeout") === "cli") throw new CliError("--timeout needs --wait: without it nothing is followed", EXIT.usage);
}

/** Finished (with the line to print), or where things stand now. */
export type Check = { finished: true; message: string } | { finished: false; now: ProgressUpdate };

/**
 * Calls `check` every `intervalMs` until it says done (its message is printed
 * on stdout) or `timeoutMs` passes (a CliError naming `what`, e.g. "web to be healthy":
 * shown as "waiting for …"). Ctrl-C stops the
 * watching, not the change.
 */
export async function follow(
  what: string,
  o: { timeoutMs: number; intervalMs?: number; total?: number; report?: (message: string) => void },
  check: (p: Progress) => Promise<Check>,
): Promise<void> {
  const p = progress({ total: o.total, label: `waiting for ${what}` });
  const onSigint = (): void => {
    p.done(`stopped waiting for ${what}; it goes on`);
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  const deadline = Date.now() + o.timeoutMs;
  /** Since when no member has answered: each check already tried every member (cli/client.ts). */
  let lostSince = 0;
  try {
    for (;;) {
      let c: Check;
      try {
        c = await check(p);
        if (lostSince) p.line(`the controller answers again (after ${Math.round((Date.now() - lostSince) / 1000)}s)`);
        lostSince = 0;
      } catch (e) {
        // The controller is restarting, or a group is between members: the change goes on, so does the waiting.
        if (!(e instanceof CliError && e.exitCode === EXIT.unavailable)) throw e;
        // Said once per outage, not on every retry (piped, that was a line every half second).
        if (!lostSince) p.line(`lost the controller (${e.message}); waiting on…`);
        lostSince ||= Date.now();
        if (Date.now() - lostSince > WATCH_RETRY_MS || Date.now() >= deadline) throw e;
        await new Promise((r) => setTimeout(r, o.intervalMs ?? 500));
        continue;
      }
      if (c.finished) {
        p.done();
        (o.report ?? console.log)(render(c.message));
        return;
      }
      p.update(c.now);
      if (Date.now() >= deadline) {
        throw new CliError(`timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for ${what}`, EXIT.failed, `it goes on without you${c.now.label ? `: ${c.now.label}` : ""}`);
      }
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 500));
    }
  } finally {
    p.done();
    process.off("SIGINT", onSigint);
  }
}

/** How long apply --wait and drain --wait see nothing left but copies no host can take before they say so and end. */
export const UNPLACEABLE_FOR_MS = 3000;
