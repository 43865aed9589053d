/**
 * The bench's simulators as one interface: in this process (LocalSim) or in a worker
 * process each (WorkerSim, driven over IPC: ipc.ts, sim-worker.ts), so simulating
 * thousands of TLS clients need not fit on the core the bench itself runs on.
 */
import { fork, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { isFromWorker, type FromWorker, type ToWorker } from "./ipc.js";
import { Simulator, type SetupReport, type SimConfig, type SimResult, type SimStatus } from "./sim.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "sim-worker.js");

type Want = "setup-done" | "result" | "status";

export interface SimHandle {
  readonly pid: number;
  setup(onProgress: (done: number, failed: number) => void): Promise<SetupReport>;
  startWindow(): void;
  endWindow(graceMs: number): Promise<SimResult>;
  /** Where its agents are now (asked one at a time: a worker answers requests in order). */
  status(): Promise<SimStatus>;
  resetReconnects(): void;
  close(): Promise<void>;
}

export class LocalSim implements SimHandle {
  readonly pid = process.pid;
  private readonly sim: Simulator;
  constructor(cfg: SimConfig) {
    this.sim = new Simulator(cfg);
  }
  setup(onProgress: (done: number, failed: number) => void): Promise<SetupReport> {
    return this.sim.setup(onProgress);
  }
  startWindow(): void {
    this.sim.startWindow();
  }
  endWindow(graceMs: number): Promise<SimResult> {
    return this.sim.endWindow(graceMs);
  }
  async status(): Promise<SimStatus> {
    return this.sim.status();
  }
  resetReconnects(): void {
    this.sim.resetReconnects();
  }
  async close(): Promise<void> {
    this.sim.close();
  }
}

export class WorkerSim implements SimHandle {
  readonly pid: number;
  private readonly child: ChildProcess;
  private onProgress: ((done: number, failed: number) => void) | undefined;
  private waiting: { want: Want; resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;
  private gone = false;

  constructor(private readonly cfg: SimConfig) {
    this.child = fork(WORKER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    if (this.child.pid === undefined) throw new Error("a simulator worker did not start");
    this.pid = this.child.pid;
    this.child.on("message", (m: unknown) => {
      if (!isFromWorker(m)) return;
      if (m.type === "progress") this.onProgress?.(m.done, m.failed);
      else if (m.type === "error") this.fail(new Error(`simulator worker ${this.pid}: ${m.message}`));
      else if (this.waiting?.want === m.type) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(m);
      }
    });
    this.child.once("exit", (code, signal) => {
      this.gone = true;
      this.fail(new Error(`simulator worker ${this.pid} exited (${signal ?? `code ${code}`})`));
    });
  }

  private fail(e: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }

  private request(m: ToWorker, want: Want): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      if (this.gone) return reject(new Error(`simulator worker ${this.pid} is gone`));
      this.waiting = { want, resolve, reject };
      this.child.send(m);
    });
  }

  async setup(onProgress: (done: number, failed: number) => void): Promise<SetupReport> {
    this.onProgress = onProgress;
    const m = await this.request({ type: "setup", cfg: this.cfg }, "setup-done");
    if (m.type !== "setup-done") throw new Error("unexpected reply from a simulator worker");
    return m.report;
  }

  startWindow(): void {
    if (!this.gone) this.child.send({ type: "start" } satisfies ToWorker);
  }

  async endWindow(graceMs: number): Promise<SimResult> {
    const m = await this.request({ type: "end", graceMs }, "result");
    if (m.type !== "result") throw new Error("unexpected reply from a simulator worker");
    return m.result;
  }

  async status(): Promise<SimStatus> {
    const m = await this.request({ type: "status" }, "status");
    if (m.type !== "status") throw new Error("unexpected reply from a simulator worker");
    return m.status;
  }

  resetReconnects(): void {
    if (!this.gone) this.child.send({ type: "reset-reconnects" } satisfies ToWorker);
  }

  async close(): Promise<void> {
    if (this.gone) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.send({ type: "close" } satisfies ToWorker);
    if ((await Promise.race([exited.then(() => "exited" as const), sleep(5000, "timeout" as const)])) === "timeout") this.child.kill("SIGKILL");
  }

  killNow(): void {
    if (!this.gone) this.child.kill("SIGKILL");
  }
}

/** The bench's own options that shape its simulators. */
export interface SimPlan {
  agents: number;
  simProcs: number;
  intervalMs: number;
  concurrency: number;
  joinConcurrency: number;
}

/** Agents 0..agents−1 cut into one contiguous slice per simulator process. */
export function simSlices(o: SimPlan): { firstIndex: number; count: number }[] {
  const per = Math.ceil(o.agents / o.simProcs);
  return Array.from({ length: o.simProcs }, (_, p) => ({ firstIndex: p * per, count: Math.min(per, o.agents - p * per) })).filter((sl) => sl.count > 0);
}

/**
 * One simulator per slice (in this process, or a worker process each), slice p joining
 * with tokens[p], all on one phase grid: agent i beats at epoch + (i/N + k)·interval.
 */
export function startSims(
  o: SimPlan,
  slices: { firstIndex: number; count: number }[],
  tokens: string[],
  target: Pick<SimConfig, "addr" | "members" | "caPem" | "facts">,
): SimHandle[] {
  const phaseEpochMs = Math.ceil(Date.now() / o.intervalMs) * o.intervalMs;
  return slices.map(({ firstIndex, count }, p) => {
    const cfg: SimConfig = {
      ...target,
      joinToken: tokens[p] ?? tokens[0]!,
      firstIndex,
      count,
      total: o.agents,
      intervalMs: o.intervalMs,
      concurrency: Math.max(1, Math.round(o.concurrency / o.simProcs)),
      joinConcurrency: o.joinConcurrency,
      phaseEpochMs,
    };
    return o.simProcs === 1 ? new LocalSim(cfg) : new WorkerSim(cfg);
  });
}
