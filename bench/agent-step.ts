/**
 * `npm run bench:agent-step -- [--steps 20] [--pause 100]`
 *
 * One host's share of a rollout step, as the agent does it, without the
 * controller, the CLI or a slow service to hide it: a Converger with the real
 * steps (supervisor, cgroup, state files with their fsyncs, log files) runs
 * `sleep 1000` (no health check, so "healthy" means running) and is handed a new
 * epoch --steps times, --pause ms apart. Each step is timed from the assignment to the new process
 * running: stop the old one (its stop signal, the wait for its group to empty),
 * then everything before and around the spawn. `sleep` dies at once on SIGTERM,
 * so what remains is berth's own work: on a shared machine compare builds
 * interleaved, on the same load (bench/README.md).
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Converger } from "../agent/converge/converger.js";
import { realSteps } from "../agent/converge/steps.js";
import { normalizeSpec } from "../shared/spec/schema.js";
import { createLogger } from "../shared/log/logger.js";
import type { Assignment__Output } from "../shared/gen/berth/v1/Assignment.js";
import { arg } from "./args.js";

const steps = Number(arg("steps", "20"));
if (!Number.isInteger(steps) || steps < 1 || steps > 1000) throw new Error("--steps: 1..1000");
// In a rollout each agent takes one step after a while of only heartbeats and checks:
// back to back, the kernel's and the disk's state left warm by the last step flatter the
// next (moving a process into a cgroup takes ~0.1 ms right after another move, 5–15 ms
// after a pause).
const pauseMs = Number(arg("pause", "100"));
if (!Number.isInteger(pauseMs) || pauseMs < 0 || pauseMs > 10_000) throw new Error("--pause: 0..10000 ms");

const log = createLogger("bench", "silent");
const dir = await mkdtemp(path.join(os.tmpdir(), "berth-agent-step-"));
// As root the service runs as a user of its own, who must get through to its folder (mkdtemp makes it 0700).
await chmod(dir, 0o711);
const spec = normalizeSpec({ name: "web", run: { command: "sleep", args: ["1000"] } });
let waiting: { epoch: number; resolve: () => void } | undefined;
const conv = new Converger({
  dataDir: dir,
  advertiseAddr: () => "127.0.0.1",
  log,
  steps: realSteps({
    dataDir: dir,
    log,
    advertiseAddr: () => "127.0.0.1",
    fetchStored: () => {
      throw new Error("no artifact here");
    },
  }),
  report: (s) => {
    if (waiting && s.state === "healthy" && s.epoch === waiting.epoch) {
      const w = waiting;
      waiting = undefined;
      w.resolve();
    }
  },
});
const assignment = (epoch: number): Assignment__Output => ({ service: "web", instance: "web-0", epoch, revision: epoch, spec_json: JSON.stringify(spec), secrets: [] });
const step = (epoch: number): Promise<void> =>
  new Promise((resolve) => {
    waiting = { epoch, resolve };
    conv.assign(assignment(epoch));
  });

const ms: number[] = [];
const cpuMs: number[] = [];
try {
  await step(1);
  for (let e = 2; e <= steps + 1; e++) {
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await step(e);
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
} finally {
  await conv.shutdown({ stopService: true });
  await rm(dir, { recursive: true, force: true });
}
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor(s.length * q))]!.toFixed(1));
};
const at = (q: number): number => quantile(ms, q);
const cpu = quantile(cpuMs, 0.5);
console.log(
  `agent step (assignment → new process running), ${steps} steps ${pauseMs} ms apart: median ${at(0.5)} ms, p25 ${at(0.25)} ms, p75 ${at(0.75)} ms; the agent's CPU a step, median ${cpu} ms`,
);
console.log(JSON.stringify({ bench: "agent-step", steps, pauseMs, medianMs: at(0.5), p25Ms: at(0.25), p75Ms: at(0.75), cpuMedianMs: cpu }));
