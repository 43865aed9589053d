/**
 * `npm run bench:gitops -- [--pushes 10] [--interval 10s] [--services 200] [--runs 5] [--case all|webhook,poll,large]`
 *
 * How soon does a pushed commit start a rollout, and what does a large repository cost?
 * On the cluster harness (a network namespace per host, as root; 127.x otherwise): a
 * controller with --hooks-addr, 2 agents, and a git server of the bench's own (`git
 * http-backend` behind test/cluster/harness/git-http.mjs) on the controller's node.
 *
 * latency  commit pushed → rollout started: the bench commits a change of a service's
 *          env, pushes it into the served bare repository and takes the time when `git
 *          push` returns; the end is the `rollout.started` event's time (the
 *          controller's clock, the same machine's). Between pushes the bench waits for
 *          the rollout to succeed (untimed). Two sources, each its own repository:
 *          (a) webhook: --interval 1h, a signed push webhook sent as soon as the push
 *              returns (by a sender already running on the controller's node, as a git
 *              server sends it), so only the webhook makes it sync in time;
 *          (b) poll: --interval (default 10 s), no webhook: the wait for the next poll
 *              is part of it, about half the interval on average. The pushes are spread
 *              over the poll's phase (an untimed pause of k/N of the interval before the
 *              k-th): pushed right after each rollout's end, they would all land just after
 *              a poll and measure a whole interval each time.
 * large    a source of --services services (one file each, one shared artifact folder):
 *          one full sync (`gitops.sync-requested` → `gitops.applied` events: fetch,
 *          extract, validate, pack, the one apply txn), first (all created) and after a
 *          commit changing one service; and the wall time of `berth gitops status` and
 *          `gitops list -o json` (the CLI's start-up and connect included; `berth --version`
 *          alone is printed beside it for that part).
 *
 * Prints each trial, a summary and one JSON line; BENCH_LOGS=FILE writes the processes'
 * last output there at the end.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { parseDurationMs } from "../shared/duration.js";
import { Cluster, ROOT, type EventJson } from "../test/cluster/harness/cluster.js";
import { SVC, svcSpec } from "../test/cluster/harness/specs.js";
import { waitFor } from "../test/cluster/harness/wait.js";
import { arg } from "./args.js";

const run = promisify(execFile);

const pushes = Number(arg("pushes", "10"));
const interval = arg("interval", "10s");
const nServices = Number(arg("services", "200"));
const runs = Number(arg("runs", "5"));
const which = arg("case", "all").split(",");
if (!which.every((w) => ["all", "webhook", "poll", "large"].includes(w))) throw new Error("--case: all, or some of webhook,poll,large");
const doing = (c: string): boolean => which.includes("all") || which.includes(c);
if (!Number.isInteger(pushes) || pushes < 1 || pushes > 100) throw new Error("--pushes: 1..100");
if (!Number.isInteger(nServices) || nServices < 1 || nServices > 2000) throw new Error("--services: 1..2000");
if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error("--runs: 1..50");
if (parseDurationMs(interval) < 5000) throw new Error("--interval: at least 5s, as `gitops add` takes");

const HOOKS_PORT = 9470;
const GIT_PORT = 9480;
const HOOK_KEY = "bench-hook-key";

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const stats = (xs: number[]): { median: number; p90: number; max: number; min: number } => ({ median: pct(xs, 50), p90: pct(xs, 90), max: Math.max(...xs), min: Math.min(...xs) });
const spec = (name: string, env: Record<string, string> = {}): string => svcSpec(name, { health: false, env }).replace(`artifact: ${SVC}`, "artifact: ../app");

/**
 * Sends a signed push webhook for each source name it reads on stdin, at once
 * (started once on the controller's node: the bench process has no route into it).
 */
const SENDER = `
const { createHmac } = require("node:crypto");
const [url, key] = process.argv.slice(1);
const body = JSON.stringify({ ref: "refs/heads/main" });
const sig = createHmac("sha256", key).update(body).digest("hex");
let buf = "";
process.stdin.on("data", (b) => {
  buf += b;
  for (let i; (i = buf.indexOf("\\n")) >= 0; ) {
    const name = buf.slice(0, i);
    buf = buf.slice(i + 1);
    fetch(url + name, { method: "POST", headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": "sha256=" + sig }, body })
      .then((r) => console.log(name + " " + r.status), (e) => console.log(name + " error " + String(e.cause ?? e)));
  }
});
console.log("ready");
`;

const c = await Cluster.start({ hosts: 2, controllerArgs: ["--hooks-addr", `0.0.0.0:${HOOKS_PORT}`, "--log-level", "warn"] });
const stop = async (): Promise<void> => {
  if (process.env.BENCH_LOGS) await writeFile(process.env.BENCH_LOGS, await c.dumpLogs());
  await c.destroy();
};
process.once("SIGINT", () => void stop().then(() => process.exit(130)));

const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
const root = join(c.dir, "git");

/** A bare repository served at /NAME.git and a work tree pushing to it, the fixture's service folder as app/. */
async function repo(name: string): Promise<{ url: string; push: (files: Record<string, string>, message: string) => Promise<string> }> {
  const bare = join(root, `${name}.git`);
  const work = join(c.dir, `work-${name}`);
  await run("git", ["init", "-q", "--bare", "-b", "main", bare]);
  await run("git", ["clone", "-q", bare, work], { env: gitEnv });
  await cp(SVC, join(work, "app"), { recursive: true });
  const git = async (...args: string[]): Promise<string> => (await run("git", ["-C", work, ...args], { env: gitEnv, maxBuffer: 16 << 20 })).stdout.trim();
  return {
    url: `http://${c.topo.controllerAddr}:${GIT_PORT}/${name}.git`,
    push: async (files, message) => {
      for (const [f, text] of Object.entries(files)) {
        await mkdir(join(work, f, ".."), { recursive: true });
        await writeFile(join(work, f), text);
      }
      await git("add", "-A");
      await git("-c", "user.name=bench", "-c", "user.email=bench@example.org", "commit", "-q", "-m", message);
      await git("push", "-q", "origin", "HEAD:main");
      return git("rev-parse", "HEAD");
    },
  };
}

async function cliOk(args: string[]): Promise<string> {
  const r = await c.cli(args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`berth ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Events after `seq` (the log's own order), polled until `pred` finds one. */
async function eventAfter(seq: number, pred: (e: EventJson) => boolean, what: string, timeoutMs = 120_000): Promise<EventJson> {
  return waitFor(async () => (await c.events()).find((e) => e.seq > seq && pred(e)), { timeoutMs, intervalMs: 100, what });
}
const lastSeq = async (): Promise<number> => Math.max(0, ...(await c.events()).map((e) => e.seq));

await mkdir(root, { recursive: true });
const server = c.topo.spawn(0, [process.execPath, resolve(ROOT, "test/cluster/harness/git-http.mjs"), c.topo.controllerAddr, String(GIT_PORT), root]);
await new Promise<void>((ok, fail) => {
  server.stdout?.on("data", (b: Buffer) => b.toString().includes("listening") && ok());
  server.once("exit", (code) => fail(new Error(`git server exited ${code}`)));
});
const sender = c.topo.spawn(0, [process.execPath, "-e", SENDER, `http://${c.topo.controllerAddr}:${HOOKS_PORT}/hooks/gitops/`, HOOK_KEY]);
const senderOut: string[] = [];
await new Promise<void>((ok) => {
  sender.stdout?.on("data", (b: Buffer) => {
    senderOut.push(...b.toString().trim().split("\n"));
    if (senderOut.includes("ready")) ok();
  });
});

/** commit pushed → rollout started, `pushes` times, for one source following one service. */
async function latency(kind: "webhook" | "poll"): Promise<number[]> {
  const svc = `${kind}-svc`;
  const r = await repo(kind);
  let n = 0;
  const first = await r.push({ [`fleet/${svc}.yaml`]: spec(svc, { N: String(n) }) }, "first");
  const args = kind === "webhook" ? ["--interval", "1h", "--webhook-secret", "hook-key"] : ["--interval", interval];
  await cliOk(["gitops", "add", kind, "--repo", r.url, "--path", "fleet", ...args]);
  await waitFor(async () => ((await c.cliJson<{ last_applied: { commit: string } | null }>(["gitops", "status", kind])).last_applied?.commit === first ? true : undefined), { timeoutMs: 120_000, intervalMs: 250, what: `${kind}: the first commit applied` });
  await c.waitForStatus(svc, (s) => s.instances.some((i) => i.state === "running" || i.state === "healthy"), `${svc} running`, 120_000);
  const out: number[] = [];
  for (let t = 1; t <= pushes; t++) {
    // Untimed: the poll's phase, spread (k · golden ratio mod 1, so not in order) over the interval.
    if (kind === "poll") await new Promise((ok) => setTimeout(ok, ((t * 0.618034) % 1) * parseDurationMs(interval)));
    const seq = await lastSeq();
    n++;
    const sha = await r.push({ [`fleet/${svc}.yaml`]: spec(svc, { N: String(n) }) }, `push ${n}`);
    const pushedAt = Date.now();
    if (kind === "webhook") sender.stdin?.write(`${kind}\n`);
    const started = await eventAfter(seq, (e) => e.type === "rollout.started" && e.service === svc, `${kind} push ${t}: rollout.started`);
    const ms = started.time_ms - pushedAt;
    out.push(ms);
    console.log(`${kind} push ${t}: ${sha.slice(0, 12)} pushed → rollout started ${ms} ms`);
    // Untimed: the rollout ends before the next push, so each push starts one of its own.
    await eventAfter(started.seq, (e) => (e.type === "rollout.succeeded" || e.type === "rollout.failed") && e.service === svc, `${kind} push ${t}: the rollout's end`);
  }
  if (kind === "webhook" && !senderOut.some((l) => l === "webhook 202")) throw new Error(`the webhook was not taken: ${senderOut.join("; ")}`);
  return out;
}

/** A source of nServices services: its full syncs (first, then one service changed) and the CLI's wall time on it. */
async function large(): Promise<Record<string, unknown>> {
  const r = await repo("large");
  const files: Record<string, string> = {};
  for (let i = 0; i < nServices; i++) files[`fleet/svc-${String(i).padStart(4, "0")}.yaml`] = spec(`svc-${String(i).padStart(4, "0")}`);
  const first = await r.push(files, `${nServices} services`);
  const sync = async (sha: string): Promise<number> => {
    const seq = await lastSeq();
    await cliOk(["gitops", "sync", "large"]);
    const req = await eventAfter(seq, (e) => e.type === "gitops.sync-requested" && e.message.startsWith("source large:"), "large: sync requested");
    const applied = await eventAfter(seq, (e) => e.type === "gitops.applied" && e.message.startsWith("source large:") && e.message.includes(sha.slice(0, 12)), `large: ${sha.slice(0, 12)} applied`, 300_000);
    return applied.time_ms - req.time_ms;
  };
  // --interval 1h: only the syncs the bench asks for; the add's own first fetch is the first full sync.
  const seq0 = await lastSeq();
  await cliOk(["gitops", "add", "large", "--repo", r.url, "--path", "fleet", "--interval", "1h"]);
  const added = await eventAfter(seq0, (e) => e.type === "gitops.added" && e.message.startsWith("source large:"), "large: added");
  const appliedFirst = await eventAfter(seq0, (e) => e.type === "gitops.applied" && e.message.startsWith("source large:") && e.message.includes(first.slice(0, 12)), "large: first commit applied", 300_000);
  const firstMs = appliedFirst.time_ms - added.time_ms;
  console.log(`large: first sync (${nServices} services created, mirror made) ${firstMs} ms`);
  const changed: number[] = [];
  for (let t = 1; t <= runs; t++) {
    const sha = await r.push({ "fleet/svc-0000.yaml": spec("svc-0000", { N: String(t) }) }, `change ${t}`);
    changed.push(await sync(sha));
    console.log(`large: sync of a commit changing 1 of ${nServices} services ${changed[changed.length - 1]} ms`);
  }
  const same: number[] = [];
  for (let t = 1; t <= runs; t++) {
    const sha = await r.push({ [`fleet/note-${t}.txt`]: "not a spec\n" }, `no service change ${t}`);
    same.push(await sync(sha));
  }
  console.log(`large: sync of a commit changing no service: ${same.join(", ")} ms`);
  const wall = async (args: string[]): Promise<number[]> => {
    const xs: number[] = [];
    for (let t = 0; t < runs; t++) {
      const t0 = performance.now();
      await cliOk(args);
      xs.push(Math.round(performance.now() - t0));
    }
    return xs;
  };
  const version = await wall(["--version"]);
  const status = await wall(["gitops", "status", "large"]);
  const statusJson = await wall(["gitops", "status", "large", "-o", "json"]);
  const list = await wall(["gitops", "list", "-o", "json"]);
  return { services: nServices, firstSyncMs: firstMs, syncOneChangedMs: stats(changed), syncNoneChangedMs: stats(same), statusWallMs: stats(status), statusJsonWallMs: stats(statusJson), listJsonWallMs: stats(list), versionWallMs: stats(version) };
}

try {
  await writeFile(join(c.dir, "hook-key"), HOOK_KEY);
  await cliOk(["secret", "set", "hook-key", "--from-file", join(c.dir, "hook-key")]);
  const load = (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
  const hook = doing("webhook") ? await latency("webhook") : [];
  const poll = doing("poll") ? await latency("poll") : [];
  const big = doing("large") ? await large() : undefined;
  console.log(`\ngitops bench (${c.topo.mode}, 2 hosts, load average at start ${load})`);
  if (hook.length || poll.length) console.log(`  commit pushed → rollout started, ${pushes} pushes:`);
  const line = (xs: number[]): string => {
    const x = stats(xs);
    return `median ${x.median} ms, p90 ${x.p90} ms, max ${x.max} ms (min ${x.min})`;
  };
  if (hook.length) console.log(`    webhook (interval 1h):      ${line(hook)}`);
  if (poll.length) console.log(`    poll every ${interval}, no webhook: ${line(poll)}`);
  if (big) {
    const s = big as { firstSyncMs: number; syncOneChangedMs: ReturnType<typeof stats>; syncNoneChangedMs: ReturnType<typeof stats>; statusWallMs: ReturnType<typeof stats>; statusJsonWallMs: ReturnType<typeof stats>; listJsonWallMs: ReturnType<typeof stats>; versionWallMs: ReturnType<typeof stats> };
    console.log(`  a source of ${nServices} services (${runs} runs each):
    first sync (mirror made, all created): ${s.firstSyncMs} ms
    sync of a commit changing 1 service:   median ${s.syncOneChangedMs.median} ms, max ${s.syncOneChangedMs.max} ms
    sync of a commit changing none:        median ${s.syncNoneChangedMs.median} ms, max ${s.syncNoneChangedMs.max} ms
    berth gitops status (wall):            median ${s.statusWallMs.median} ms (-o json ${s.statusJsonWallMs.median} ms; gitops list -o json ${s.listJsonWallMs.median} ms; berth --version ${s.versionWallMs.median} ms)`);
  }
  console.log(JSON.stringify({ bench: "gitops", mode: c.topo.mode, load, pushes, interval, webhook: hook.length ? { samplesMs: hook, ...stats(hook) } : undefined, poll: poll.length ? { samplesMs: poll, ...stats(poll) } : undefined, large: big }));
} finally {
  sender.kill("SIGTERM");
  server.kill("SIGTERM");
  await stop();
}
