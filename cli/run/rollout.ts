/** What `berth restart` and `berth rollout status|promote|pause|resume|undo` do (descriptors: cli/commands/rollout.ts). */
import type { Command } from "commander";
import type { RolloutView__Output } from "../../shared/gen/berth/v1/RolloutView.js";
import type { ServiceChange__Output } from "../../shared/gen/berth/v1/ServiceChange.js";
import { formatDurationMs } from "../../shared/duration.js";
import { call, type Api } from "../client.js";
import { CliError, EXIT } from "../errors.js";
import { colour, parseFormat, printData, printStreamData, render, table, txt, type Cell } from "../output.js";
import { progress } from "../progress.js";
import { watchStream } from "../watch.js";
import { parseTimeout } from "../wait.js";
import { clip } from "../../shared/text/quote.js";
import { globalsOf, withApi } from "./common.js";


/**
 * How a rollout ended, for the exit code: 0 only when it succeeded and was not a revert.
 * A canary awaiting promotion has not ended, but nothing moves until someone promotes it:
 * watching it longer only hangs a pipeline, so it is an outcome of its own.
 */
export function outcome(v: RolloutView__Output): "succeeded" | "failed" | "reverted" | "awaiting-promotion" | "in-progress" | "none" {
  if (!v.exists) return "none";
  if (v.status === "succeeded") return v.auto_reverted ? "reverted" : "succeeded";
  if (v.status === "failed") return v.auto_reverted ? "reverted" : "failed";
  if (v.status === "awaiting-promotion") return "awaiting-promotion";
  return "in-progress";
}

/** `berth rollout status` (also with -w), `apply --wait`: the rollout's canary awaits `berth rollout promote`. */
export const EXIT_ROLLOUT_AWAITS_PROMOTION = 8;

/** The error for a rollout whose canary awaits promotion (what it waits for, and the command that moves it on). */
export function awaitsPromotion(v: Pick<RolloutView__Output, "service" | "to_revision" | "done" | "total">): CliError {
  return new CliError(
    `the rollout of ${v.service} to revision ${v.to_revision} awaits promotion: its canary (${v.done} of ${v.total}) is in service, the rest waits`,
    EXIT_ROLLOUT_AWAITS_PROMOTION,
    `berth rollout promote ${v.service} goes on with the rest; berth rollout undo ${v.service} goes back`,
  );
}

function statusColour(s: string): Cell {
  if (s === "succeeded") return colour("green", s);
  if (s === "failed" || s === "reverting") return colour("red", s);
  if (s === "paused" || s === "awaiting-promotion") return colour("yellow", s);
  return s;
}

const elapsed = (v: RolloutView__Output): string => formatDurationMs(Math.max(0, Number(v.ended_at_ms || v.now_ms) - Number(v.started_at_ms)));

/** One line that says where the rollout stands: what `-w` prints per change when piped. */
export function summaryLine(v: RolloutView__Output): string {
  if (!v.exists) return `${v.service}: no rollout (revision ${v.current_revision})`;
  const kind = v.auto_reverted ? "revert" : "rollout";
  const batch = v.batch.length ? `  batch [${v.batch.join(", ")}]` : "";
  const reason = v.reason ? `  ${v.reason}` : "";
  return `${v.service}: ${kind} ${v.from_revision} → ${v.to_revision} ${v.status}  ${v.done}/${v.total} done${batch}  ${elapsed(v)}${reason}`;
}

export function printRollout(v: RolloutView__Output): void {
  // Sanitized first; then the status word (sanitized alike) gets its colour.
  const word = ` ${render(v.status)} `;
  console.log(render(summaryLine(v)).replace(word, ` ${render(statusColour(v.status))} `));
  if (!v.exists) return;
  console.log(
    "\n" +
      table(
        ["INSTANCE", "HOST", "VERSION", "PHASE", "SURGE", "DONE"],
        v.slots.map((s) => [
          s.instance + (s.in_batch ? " *" : ""),
          s.host || "-",
          String(s.revision),
          s.phase,
          s.surge_host ? `${s.surge_host} r${s.surge_revision} ${s.surge_phase}` : "-",
          s.done ? "yes" : "",
        ]),
      ),
  );
  // Why each slot out of service is out, as status says it: "pending" alone sent people to another command.
  for (const s of v.slots.filter((x) => x.why)) console.log(txt`  ${s.instance}: ${s.why}`);
}

const toData = (v: RolloutView__Output): unknown => ({
  ...v,
  from_revision: Number(v.from_revision),
  to_revision: Number(v.to_revision),
  current_revision: Number(v.current_revision),
  started_at_ms: Number(v.started_at_ms),
  last_progress_at_ms: Number(v.last_progress_at_ms),
  ended_at_ms: Number(v.ended_at_ms),
  now_ms: Number(v.now_ms),
  outcome: outcome(v),
  slots: v.slots.map((s) => ({ ...s, revision: Number(s.revision), surge_revision: Number(s.surge_revision), healthy_since_ms: Number(s.healthy_since_ms), draining_since_ms: Number(s.draining_since_ms) })),
});

/** `berth rollout status`: the rollout has not ended (read without -w, or the watch was stopped). */
export const EXIT_ROLLOUT_IN_PROGRESS = 7;

function exitFor(v: RolloutView__Output): void {
  const o = outcome(v);
  if (o === "awaiting-promotion") throw awaitsPromotion(v);
  if (o === "in-progress") throw new CliError(`the rollout of ${v.service} to revision ${v.to_revision} has not ended (${v.status}${v.reason ? `: ${v.reason}` : ""})`, EXIT_ROLLOUT_IN_PROGRESS, `berth rollout status ${v.service} -w follows it to its end`);
  if (o === "failed") throw new CliError(`the rollout of ${v.service} to revision ${v.to_revision} failed: ${v.reason}`, EXIT.failed, `berth events --service ${v.service}`);
  if (o === "reverted") throw new CliError(`the rollout of ${v.service} was reverted to revision ${v.to_revision}${v.status === "failed" ? ", and the revert failed too" : ""}`, EXIT.failed, `berth events --service ${v.service}`);
}

/**
 * Follows the rollout until it ends: on a terminal a live progress block (cli/progress.ts)
 * with a line per instance, piped one plain line per change. A rollout that is
 * superseded (a new apply) is followed to its successor, as kubectl does.
 */
async function watchRollout(api: Api, name: string, format: string, timeoutMs = 0): Promise<RolloutView__Output> {
  const p = format === "table" ? progress({ label: `${name}: waiting for the rollout` }) : undefined;
  let last: RolloutView__Output | undefined;
  let ended: RolloutView__Output | undefined;
  const timeout = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
  try {
    // A lost member (restart, failover of its host, a member of a group gone):
    // the rollout goes on; so does the watch, on whichever member answers (cli/watch.ts).
    await watchStream(api, {
      follow: true,
      ...(timeout ? { signal: timeout } : {}),
      open: (client, md) => client.WatchRollout({ name }, md),
      onData: (v: RolloutView__Output, w) => {
        last = v;
        if (printStreamData(parseFormat(format), toData(v))) {
          // -o json|yaml: the data alone on stdout
        } else if (p?.live) {
          p.update({
            done: v.done,
            total: v.total,
            label: summaryLine(v).replace(/^\S+ /, ""),
            lines: v.slots.map((x) => `${x.in_batch ? "*" : " "} ${x.instance.padEnd(16)} r${x.revision} ${x.phase}${x.surge_host ? `  + r${x.surge_revision} on ${x.surge_host} ${x.surge_phase}` : ""}${x.why ? `  — ${clip(x.why, 120)}` : ""}`),
          });
        } else p?.update({ done: v.done, total: v.total, label: summaryLine(v) });
        // Awaiting promotion ends the watch too: nothing moves until someone promotes.
        if (outcome(v) !== "in-progress") {
          ended = v;
          w.stop();
        }
      },
      onLost: (why) => p?.line(`lost the controller (${why}); watching again…`),
    });
  } catch (err) {
    p?.done();
    throw err;
  }
  // Ended, or stopped (Ctrl-C, --timeout): where it stood last.
  const v = ended ?? last;
  p?.done(v ? summaryLine(v) : undefined);
  if (!v) throw new CliError(`the watch on ${name} ended before the rollout did`, EXIT_ROLLOUT_IN_PROGRESS);
  return v;
}

export async function restart(name: string, o: { watch?: boolean; wait?: boolean; timeout?: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const timeoutMs = watchTimeout(o);
  await withApi(g, async (api) => {
    const v = await call(api, api.client.RolloutControl, { service: name, action: "restart" }, 30_000);
    console.log(txt`${name}: rolling out revision ${v.to_revision} (restart of ${v.from_revision})`);
    if (o.watch || o.wait) exitFor(await watchRollout(api, name, "table", timeoutMs));
  });
}

/** --timeout (only with -w): how long to follow; 0 is no limit. */
function watchTimeout(o: { watch?: boolean; wait?: boolean; timeout?: string }): number {
  if (o.timeout === undefined) return 0;
  if (!o.watch && !o.wait) throw new CliError("--timeout needs -w: without it nothing is followed", EXIT.usage);
  return parseTimeout(o.timeout);
}

export async function rolloutStatus(name: string, o: { watch?: boolean; output: string; timeout?: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  const timeoutMs = watchTimeout(o);
  await withApi(g, async (api) => {
    if (o.watch) {
      const v = await watchRollout(api, name, format, timeoutMs);
      if (format === "table") printRollout(v);
      exitFor(v);
      // No rollout yet (a new service): it is done when every instance is in service, as
      // `kubectl rollout status` waits for a new Deployment — not at once, healthy or not.
      if (outcome(v) === "none") {
        const { waitHealthy } = await import("./apply.js");
        const created = { service: name, action: "create", rollout_to: 0 } as unknown as ServiceChange__Output;
        await waitHealthy(api, { changes: [created] }, timeoutMs || 24 * 3600_000, format === "table" ? (m) => console.log(m) : (m) => process.stderr.write(`${m}\n`));
      }
      return;
    }
    const v = await call(api, api.client.GetRollout, { name });
    if (!printData(format, toData(v))) printRollout(v);
    exitFor(v);
    if (outcome(v) === "none") {
      const st = await call(api, api.client.GetService, { name });
      const desired = (JSON.parse(st.spec_json) as { instances?: number } | null)?.instances ?? st.instances.length;
      const healthy = st.instances.filter((i) => i.state === "healthy" && Number(i.revision) === Number(st.revision)).length;
      if (healthy < desired) throw new CliError(`${name} has had no rollout (revision ${st.revision}, as created), and ${healthy}/${desired} of its instances are healthy`, EXIT_ROLLOUT_IN_PROGRESS, `berth rollout status ${name} -w follows it until every instance is in service`);
    }
  });
}

/** promote, pause, resume, undo: one call, then the rollout as it stands. */
async function control(action: "promote" | "pause" | "resume" | "undo", name: string, o: { output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  await withApi(globalsOf(cmd), async (api) => {
    const v = await call(api, api.client.RolloutControl, { service: name, action }, 30_000);
    if (!printData(format, toData(v))) printRollout(v);
  });
}

type Control = (name: string, o: { output: string }, cmd: Command) => Promise<void>;
export const promote: Control = (name, o, cmd) => control("promote", name, o, cmd);
export const pause: Control = (name, o, cmd) => control("pause", name, o, cmd);
export const resume: Control = (name, o, cmd) => control("resume", name, o, cmd);
export const undo: Control = (name, o, cmd) => control("undo", name, o, cmd);
