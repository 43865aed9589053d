/**
 * `berth plan -f` and `berth apply -f`: specs are read and validated here first
 * (errors with file, line and field, before anything is sent), local artifacts
 * are packed and — for apply — uploaded once by digest; then the controller
 * validates again, diffs, and applies all files or none.
 */
import type { Command } from "commander";
import { createReadStream, existsSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { formatSpecError, type SpecError } from "../../shared/spec/parse.js";
import { formatSpecErrors } from "../spec-errors.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import { loadFleet } from "../../shared/spec/fleet.js";
import { environmentFlag } from "../environment.js";
import { packArtifact } from "../../shared/artifact/pack.js";
import type { ServiceChange__Output } from "../../shared/gen/berth/v1/ServiceChange.js";
import type { ApplyResponse__Output } from "../../shared/gen/berth/v1/ApplyResponse.js";
import { call, toCliError, type Api } from "../client.js";
import { CliError, EXIT } from "../errors.js";
import { colour, parseFormat, printData, txt } from "../output.js";
import { globalsOf, withApi } from "./common.js";
import { EXIT_PLAN_CHANGES } from "../commands/apply.js";
import { follow, parseTimeout, timeoutNeedsWait, UNPLACEABLE_FOR_MS } from "../wait.js";
import { formatDurationMs } from "../../shared/duration.js";
import { awaitsPromotion, outcome } from "./rollout.js";

/**
 * Follows the services an apply created or changed until every one has all its
 * instances healthy at the new revision (an in-place update keeps the old copy's
 * report until the agent restarts it, hence the revision check) and the rollout the
 * apply started has succeeded: a copy healthy for a moment (a process that exits a
 * second after it starts, with no health check) is not yet in service, and exit 0 here
 * must mean what `berth rollout status` exit 0 means. When all that is left is copies the
 * scheduler finds no host for, it says so and fails rather than waiting out the timeout.
 */
export async function waitHealthy(api: Api, res: Pick<ApplyResponse__Output, "changes">, timeoutMs: number, report: (m: string) => void): Promise<void> {
  // An unchanged service is followed too: a re-run of a deploy whose wait timed out must not pass while it is not in service.
  const names = res.changes.filter((c) => c.action !== "delete").map((c) => c.service);
  if (!names.length) return;
  /** Per service changed in place (no rollout): the controller's clock at the first look, just after the apply. */
  const inPlaceAt = new Map<string, number>();
  /** Per unchanged service: the revision of the rollout it was found in, followed from then on. */
  const following = new Map<string, number>();
  /** Since when (this machine's clock) all that is left is copies no host can take; 0 while something else is under way. */
  let stuckSince = 0;
  await follow(`${names.join(", ")} to be healthy`, { timeoutMs, report }, async () => {
    let done = 0;
    let total = 0;
    const lines: string[] = [];
    let rolloutsOpen = 0;
    /** Copies the scheduler finds no host for, each with the service's count in service: what to say if that is all that is left. */
    const unplaceable: string[] = [];
    let unplaceableCount = 0;
    for (const name of names) {
      // A rollout that failed or was reverted ends healthy on the old revision: that is not what was applied.
      const change = res.changes.find((c) => c.service === name);
      let applied = Number(change?.rollout_to ?? 0) || (following.get(name) ?? 0);
      // Unchanged, or changed in place (instances, update: no rollout of its own): the rollout of the
      // revision it runs, if one is under way or failed, is the one to follow (to its end, a revert
      // included) — an in-place change applied while a rollout ran once ended "every instance
      // healthy" after that rollout was reverted, with the files' revision no longer running.
      const followsOthers = change?.action === "unchanged" || change?.action === "update";
      const r = applied || followsOthers ? await call(api, api.client.GetRollout, { name }) : undefined;
      if (r && !applied && r.exists && Number(r.to_revision) === Number(r.current_revision) && !["succeeded", "reverted"].includes(outcome(r))) {
        applied = Number(r.to_revision);
        following.set(name, applied);
      }
      if (r && applied) {
        const o = outcome(r);
        // Read in one snapshot with the rollout: a later apply's rollout is not this one, whatever it awaits.
        const current = Number(r.current_revision);
        if (current > applied) throw revisionGone(name, applied, current)!;
        // Nothing moves past a canary until someone promotes it, nor in a paused rollout until resumed: waiting on would only hang.
        if (o === "awaiting-promotion") throw awaitsPromotion(r);
        if (r.status === "paused") throw new CliError(`${name}: the rollout to revision ${r.to_revision} is paused (${r.reason}): nothing moves until it is resumed`, EXIT.failed, `berth rollout resume ${name}`);
        if (o === "failed" || o === "reverted") throw new CliError(`${name}: the rollout ${o === "failed" ? "failed" : `was reverted to revision ${r.to_revision}`}: ${r.reason || "see berth events"}`, EXIT.failed, `berth rollout status ${name}`);
        // A revert under way (back to an older revision) is no success either.
        if (current && current < applied) throw revisionGone(name, applied, current)!;
        // Open until this rollout succeeded (a member behind may still show the one before: not ours).
        if (o !== "none" && !(o === "succeeded" && Number(r.to_revision) === applied)) {
          rolloutsOpen++;
          lines.push(`${name}: rollout to revision ${r.to_revision} ${r.status || "running"}, ${r.done}/${r.total} in service (healthy for the update's minHealthyTime)`);
        }
      }
      const st = await call(api, api.client.GetService, { name });
      // Read after the rollout: a revert that ended in between shows here as another revision.
      const gone = revisionGone(name, applied, Number(st.revision));
      if (gone) throw gone;
      const spec = JSON.parse(st.spec_json) as { instances?: number; update?: { minHealthyTimeMs?: number } } | null;
      const desired = spec?.instances ?? st.instances.length;
      // In service, as a rollout counts it: healthy for the update's minHealthyTime (a new
      // service has no rollout to say so). Both times are the controller's clock.
      // A change in place (instances, update) leaves the copies that were in service before it
      // in service: a raised minHealthyTime is not waited out on them, only on copies it places.
      if (!applied && change?.action === "update" && !inPlaceAt.has(name)) inPlaceAt.set(name, Number(st.now_ms));
      const before = inPlaceAt.get(name) ?? 0;
      const minHealthyMs = spec?.update?.minHealthyTimeMs ?? 0;
      const healthyFor = (i: (typeof st.instances)[number]): number => (Number(i.since_ms) < before ? Number.MAX_SAFE_INTEGER : Math.max(0, Number(st.now_ms) - Number(i.since_ms)));
      const atRevision = (i: (typeof st.instances)[number]): boolean => i.state === "healthy" && Number(i.revision) === Number(st.revision);
      const ready = st.instances.filter((i) => atRevision(i) && healthyFor(i) >= minHealthyMs).length;
      done += Math.min(ready, desired);
      total += desired;
      lines.push(`${name}: ${ready}/${desired} in service at revision ${st.revision}`);
      // `waiting` is unset by a controller from before it (a CLI newer than its controller): then the reason's words.
      const waitsFor = (i: (typeof st.instances)[number], kind: string, words: string): boolean => i.waiting === kind || (i.waiting === "" && i.reason.startsWith(words));
      const noHost = st.instances.filter((i) => i.state === "pending" && !i.host && waitsFor(i, "unplaced", "no spare host"));
      if (noHost.length) {
        unplaceableCount += noHost.length;
        const failed = noHost.map((i) => i.install_tail).find((t) => t.startsWith("[berth] last "));
        unplaceable.push(`${name}: ${ready}/${desired} in service; ${noHost.map((i) => i.instance).join(", ")} cannot be placed: ${noHost[0]!.reason}${failed ? `\n  ${failed.split("\n", 1)[0]!.slice("[berth] ".length)}` : ""}`);
      }
      // No rollout judges a new service (or a change in place): a copy that failed for good
      // (its run.restart attempts spent, or its install failed) and failed again where it was
      // placed next (the first failure is placed again at once, elsewhere if it can be) — its
      // slot now waits out a backoff — ends the wait, as a failed rollout does.
      if (!applied) {
        const dead = st.instances.find((i) => i.state === "pending" && !i.host && waitsFor(i, "backoff", "waiting to reschedule"));
        if (dead) {
          const kept = dead.install_tail.startsWith("[berth] last ") ? dead.install_tail.split("\n", 1)[0]!.slice("[berth] ".length) : "";
          throw new CliError(`${name}: ${dead.instance} ${dead.reason}${kept ? `\n  ${kept}` : ""}`, EXIT.failed, `berth status ${name} and berth logs ${name}${/install/.test(kept) ? " --install" : ""} show why; the controller places it again when the backoff ends`);
        }
      }
      for (const i of st.instances.filter((x) => !atRevision(x) || healthyFor(x) < minHealthyMs)) {
        if (atRevision(i)) {
          lines.push(`  ${i.instance}${i.host ? ` on ${i.host}` : ""}: healthy for ${formatDurationMs(healthyFor(i))} of the update's minHealthyTime ${formatDurationMs(minHealthyMs)}`);
          continue;
        }
        lines.push(`  ${i.instance}${i.host ? ` on ${i.host}` : ""}: ${i.state}${i.reason || i.detail ? ` — ${i.reason || i.detail}` : ""}`);
        // A failure kept on the slot (a failed install, a crash loop): its step and exit code, the first line of what status shows.
        if (i.install_tail.startsWith("[berth] last ")) lines.push(`    ${i.install_tail.split("\n", 1)[0]!.slice("[berth] ".length)}`);
      }
    }
    if (done === total && rolloutsOpen === 0) return { finished: true, message: `${names.join(", ")}: every instance healthy and in service (${done}/${total})` };
    // All the rest is in service and what is left no host can take (Nomad's placement failure):
    // waiting on would only hang a pipeline until the timeout. Said once it has held for a while,
    // as a host that just joined or freed is placed on by the controller's next pass.
    if (rolloutsOpen === 0 && unplaceableCount > 0 && done + unplaceableCount === total) {
      stuckSince ||= Date.now();
      if (Date.now() - stuckSince >= UNPLACEABLE_FOR_MS) {
        throw new CliError(unplaceable.join("\n"), EXIT.failed, "the controller places them by itself once a host can take them (`berth hosts` lists the hosts); or lower instances");
      }
    } else stuckSince = 0;
    return { finished: false, now: { done, total, lines } };
  });
}


/**
 * The error when the revision an apply rolled out is no longer the service's: reverted
 * (back to an older one: the rollout failed) or replaced by a later apply. Either way its
 * instances being healthy says nothing of what was applied. Pure.
 */
export function revisionGone(name: string, applied: number, current: number): CliError | undefined {
  if (!applied || current === applied) return undefined;
  return current < applied
    ? new CliError(`${name}: the rollout to revision ${applied} was reverted to revision ${current}`, EXIT.failed, `berth rollout status ${name} says why`)
    : new CliError(`${name}: revision ${applied} was replaced by revision ${current} (applied since) before it was healthy`, EXIT.failed, `berth history ${name}`);
}

interface Prepared {
  files: { file: string; content: string; artifact_sha256: string }[];
  packs: { sha256: string; file: string; bytes: number; source: string }[];
}


/**
 * The specs of `paths` (each -f) as the controller gets them: a plain folder's files as
 * written, a fleet folder's services rendered for `env` (labelled so, as the text sent is
 * the rendered spec `berth render` prints, not the file). A file named twice (itself and
 * its folder) counts once; a service named in two files is an error, as within a folder.
 * Every error of every file and artifact comes in one run.
 */
async function prepare(paths: readonly string[], env: string): Promise<Prepared> {
  const loadedAll = await Promise.all(paths.map((p) => loadFleet(p, { env })));
  // A file given twice (itself and its folder) says each of its errors once.
  const said = new Set<string>();
  const errors: SpecError[] = loadedAll.flatMap((l) => l.errors).filter((e) => {
    const k = `${resolve(e.file)}\0${formatSpecError({ ...e, file: "" })}`;
    if (said.has(k)) return false;
    said.add(k);
    return true;
  });
  const named = new Map<string, { file: string; from: number }>();
  const taken = new Set<string>();
  const chosen: { file: string; spec?: ServiceSpec; content?: string; environment: string }[] = [];
  for (const [from, l] of loadedAll.entries()) {
    for (const f of l.files) {
      const at = resolve(f.file);
      if (taken.has(at)) continue;
      taken.add(at);
      if (f.spec) {
        const other = named.get(f.spec.name);
        // Within one -f, loadFleet has said so already (with both positions): once is enough.
        if (other === undefined) named.set(f.spec.name, { file: f.file, from });
        else if (other.from !== from) errors.push({ file: f.file, line: 0, column: 0, path: "name", message: `service "${f.spec.name}" is also defined in ${other.file}; names must be unique in the fleet` });
      }
      chosen.push({ ...f, environment: l.environment });
    }
  }
  const packs = new Map<string, Prepared["packs"][number]>();
  const files: Prepared["files"] = [];
  const artifactErrors: string[] = [];
  for (const f of chosen) {
    // loadFleet reports a file it could not read as an error: every file here has its text.
    const content = f.content ?? "";
    let sha = "";
    const a = f.spec?.artifact;
    if (a?.kind === "stored") {
      // Relative artifact paths are relative to the spec file, not to where berth runs.
      const src = isAbsolute(a.source) ? a.source : resolve(dirname(f.file), a.source);
      const missing = `  ${f.file}: artifact: ${a.source}: no such file or folder (${src}; a relative path is from the spec file's folder)`;
      // Nothing is sent anyway: only whether it is there, said with the spec errors.
      if (errors.length > 0) {
        if (!existsSync(src)) artifactErrors.push(missing);
        continue;
      }
      let p = packs.get(src);
      if (!p) {
        try {
          const packed = await packArtifact(src);
          p = { sha256: packed.sha256, file: packed.file, bytes: packed.bytes, source: src };
          packs.set(src, p);
        } catch (e) {
          artifactErrors.push((e as NodeJS.ErrnoException).code === "ENOENT" ? missing : `  ${f.file}: artifact: ${a.source}: ${(e as Error).message}`);
          continue;
        }
      }
      sha = p.sha256;
    }
    files.push({ file: f.environment ? `${f.file} [rendered for ${f.environment}]` : f.file, content, artifact_sha256: sha });
  }
  if (errors.length > 0 || artifactErrors.length > 0) {
    for (const p of packs.values()) rmSync(p.file, { force: true });
    const parts = [
      ...(errors.length > 0 ? [`invalid spec${errors.length > 1 ? "s" : ""}:\n${formatSpecErrors(errors)}`] : []),
      ...(artifactErrors.length > 0 ? [`artifact${artifactErrors.length > 1 ? "s" : ""}:\n${artifactErrors.join("\n")}`] : []),
    ];
    throw new CliError(parts.join("\n"), EXIT.usage, "nothing was sent to the controller");
  }
  return { files, packs: [...packs.values()] };
}

/**
 * Uploads to the member answering only: in a controller group that member acknowledges
 * the upload once a second member holds a copy, and any member fetches what it lacks
 * from one that has it (controller/artifacts/replicas.ts).
 */
async function upload(api: Api, p: Prepared["packs"][number]): Promise<void> {
  await new Promise<void>((resolveUp, reject) => {
    const stream = api.client.UploadArtifact(api.metadata, (err) => (err ? reject(toCliError(err, api.cfg.addr)) : resolveUp()));
    stream.write({ sha256: p.sha256, size: p.bytes, data: Buffer.alloc(0) });
    const src = createReadStream(p.file, { highWaterMark: 256 * 1024 });
    src.on("data", (chunk) => {
      if (!stream.write({ data: chunk })) {
        src.pause();
        stream.once("drain", () => src.resume());
      }
    });
    src.on("end", () => stream.end());
    src.on("error", (e) => {
      stream.cancel();
      reject(new CliError(`reading ${p.file}: ${e.message}`));
    });
  });
  process.stderr.write(`uploaded ${p.source} (sha256:${p.sha256.slice(0, 12)}, ${p.bytes} bytes)${api.members.length > 1 ? ` to ${api.member}` : ""}\n`);
}

/**
 * `--check-index N`: the state index `berth plan` printed — the controller's store counter,
 * which is not a service's revision (hence its own name; `--check-revision` is the old flag).
 */
export function parseCheckIndex(v: string, flag = "--check-index"): number {
  const n = /^\d{1,16}$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new CliError(`${flag} ${v.slice(0, 40)}: expected the state index \`berth plan\` printed (a whole number)`, EXIT.usage);
  return n;
}

/** `applyCmd`: the apply that carries out this plan, e.g. "berth apply -f services/ --prune". */
export function printChanges(res: ApplyResponse__Output, applied: boolean, applyCmd: string, o: { environment?: string; waiting?: boolean } = {}): number {
  let pending = 0;
  for (const c of res.changes as ServiceChange__Output[]) {
    const mark = c.action === "create" ? colour("green", "+") : c.action === "delete" ? colour("red", "-") : c.action === "update" ? colour("yellow", "~") : " ";
    const moves = [c.place && `${c.place} to place`, c.stop && `${c.stop} to stop`].filter(Boolean).join(", ");
    console.log(txt`${mark} ${c.service} (${c.action})${moves ? `: ${moves}` : ""}`);
    // A new service is summed up; a changed one shows each field that changes.
    if (c.action === "create") {
      const get = (path: string): string => c.fields.find((f) => f.path === path)?.to_json ?? "";
      const cmd = [get("run.command"), ...((JSON.parse(get("run.args") || "[]") as string[]))].map((x) => x.replace(/^"|"$/g, "")).join(" ");
      const art = get("artifact.url") || (get("artifact.sha256") && `sha256:${get("artifact.sha256").replace(/"/g, "").slice(0, 12)}`);
      console.log(txt`    ${get("instances") || "1"} × ${cmd}${art ? ` from ${art.replace(/"/g, "")}` : ""}`);
    } else for (const f of c.fields) console.log(txt`    ${f.path}: ${f.from_json || "(none)"} → ${f.to_json || "(none)"}`);
    // Promoting a build: the controller knows the digest it runs, and for which environment it was applied.
    if (o.environment && c.artifact_sha256) {
      const where = c.artifact_environment ? `, running in ${c.artifact_environment}${Number(c.artifact_since_ms) ? ` since ${new Date(Number(c.artifact_since_ms)).toISOString().replace(/\.\d+Z$/, "Z")}` : ""}` : "";
      console.log(txt`    artifact unchanged (sha256:${c.artifact_sha256.slice(0, 12)}…${where})`);
    }
    for (const u of c.unplaced) console.log(txt`    ${colour("red", "!")} ${u}`);
    if (Number(c.rollout_to)) console.log(txt`    ${applied ? "rolling out" : "rolls out"} revision ${c.rollout_to}${applied ? txt`: berth rollout status ${c.service} -w` : " (a health-checked rollout)"}`);
    if (c.action !== "unchanged") pending++;
  }
  if (!res.changes.length) console.log("no services in the files");
  else if (!pending) console.log(o.waiting ? "no changes; waiting until every instance is in service (--wait)" : "no changes");
  // Users see service revisions only ("rolling out revision 2" above); the store counter
  // is the state index, and only a plan needs it.
  else if (applied) console.log(o.waiting ? "\napplied; waiting for every instance to be healthy at its new revision (--wait)" : "\napplied; `berth services` shows the fleet converge");
  else {
    // The state index ties the plan to the apply (Nomad's -check-index): it is not a service's revision.
    console.log(`\n${pending} service${pending > 1 ? "s" : ""} to change, planned against state index ${res.state_index}`);
    console.log(`\`${applyCmd} --check-index ${res.state_index}\` applies exactly this, or nothing if these services changed since`);
  }
  return pending;
}

interface ApplyOpts { file: string[]; env?: string; prune?: boolean; output: string; exitCode?: boolean; wait?: boolean; timeout?: string; checkIndex?: string; checkRevision?: string }

async function planOrApply(verb: "plan" | "apply", o: ApplyOpts, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  if (o.checkIndex !== undefined && o.checkRevision !== undefined) throw new CliError("--check-index and --check-revision are the same flag: give one", EXIT.usage);
  const index = o.checkIndex !== undefined ? parseCheckIndex(o.checkIndex) : o.checkRevision !== undefined ? parseCheckIndex(o.checkRevision, "--check-revision") : undefined;
  const check = index !== undefined ? { revision: index } : null;
  timeoutNeedsWait(cmd, o.wait);
  const timeoutMs = o.wait ? parseTimeout(o.timeout ?? "10m") : 0;
  const env = environmentFlag(o.env, "--env");
  const prepared = await prepare(o.file, env);
  const fileFlags = o.file.map((f) => `-f ${f}`).join(" ");
  // The packed archives are temporary: gone when the command ends, whatever happens — Ctrl-C
  // during --wait included, which exits from its handler without unwinding to the finally below.
  const cleanup = (): Promise<void[]> => Promise.all(prepared.packs.map((p) => rm(p.file, { force: true })));
  const onExit = (): void => {
    for (const p of prepared.packs) rmSync(p.file, { force: true });
  };
  process.once("exit", onExit);
  try {
    await withApi(globalsOf(cmd), async (api) => {
      const req = { files: prepared.files, prune: Boolean(o.prune), check, environment: env };
      if (verb === "apply") {
        const absent = [];
        for (const p of prepared.packs) if (!(await call(api, api.client.HasArtifact, { sha256: p.sha256 })).present) absent.push(p);
        // What the controller would refuse (specs for another environment, a field it rejects, a role too
        // weak for run.user) is refused before an upload it would only leave behind: a plan checks it all.
        if (absent.length > 0) await call(api, api.client.Plan, req, 60_000);
        for (const p of absent) await upload(api, p);
      }
      const res = await call(api, verb === "plan" ? api.client.Plan : api.client.Apply, req, 60_000);
      const data = printData(format, res);
      const pending = data ? 0 : printChanges(res, verb === "apply", `berth apply ${fileFlags}${env ? ` --env ${env}` : ""}${o.prune ? " --prune" : ""}`, { environment: env, waiting: verb === "apply" && Boolean(o.wait) });
      if (verb === "plan" && o.exitCode && pending) process.exitCode = EXIT_PLAN_CHANGES;
      // A rollout that starts paused (the one it replaced was paused by an operator) moves nothing until resumed: said now.
      if (verb === "apply" && !data) {
        for (const c of res.changes.filter((x) => Number(x.rollout_to))) {
          const r = await call(api, api.client.GetRollout, { name: c.service });
          if (r.status === "paused" && Number(r.to_revision) === Number(c.rollout_to)) console.log(colour("yellow", txt`  ${c.service}: the rollout to revision ${r.to_revision} is paused (${r.reason}): nothing moves until \`berth rollout resume ${c.service}\``));
        }
      }
      // With -o json|yaml stdout is the data alone: the last word goes to stderr.
      if (o.wait) await waitHealthy(api, res, timeoutMs, data ? (m) => process.stderr.write(`${m}\n`) : (m) => console.log(m));
    });
  } finally {
    process.off("exit", onExit);
    await cleanup();
  }
}

export const plan = (o: ApplyOpts, cmd: Command): Promise<void> => planOrApply("plan", o, cmd);
export const apply = (o: ApplyOpts, cmd: Command): Promise<void> => planOrApply("apply", o, cmd);
