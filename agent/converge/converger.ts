/**
 * Makes this host match its assignment (DESIGN.md: level-triggered, whole
 * desired state): the newest assignment is the only truth; a stream of them
 * collapses to the last. One pass at a time: stop what should not run, then
 * fetch → install → start → health-check what should.
 *
 * The steps are injected (Steps) so this file holds only the order and the
 * reporting; each step is a module of its own with its own tests.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../shared/log/logger.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import type { Assignment__Output } from "../../shared/gen/berth/v1/Assignment.js";
import type { InstanceStatus } from "../../shared/gen/berth/v1/InstanceStatus.js";
import { Coalescer } from "../../shared/coalesce.js";
import { clampDelayMs } from "../../shared/timer.js";

export type InstanceState = "pending" | "fetching" | "installing" | "starting" | "healthy" | "unhealthy" | "stopping" | "stopped" | "failed";

export interface Desired {
  service: string;
  instance: string;
  epoch: number;
  revision: number;
  spec: ServiceSpec;
}

/** Following a process's output (`berth logs -f`), with flow control. */
export interface OutputFollower {
  close(): void;
  /** Stop delivering for now: the reader is behind. */
  pause(): void;
  resume(): void;
}

/** A running process as the converger sees it. */
export interface RunHandle {
  pid(): number;
  restarts(): number;
  resources(): { enforced: boolean; note: string };
  /** Stops the process group (stop signal, then SIGKILL after the stop timeout). */
  stop(): Promise<void>;
  /** Last lines / following of the service's output. */
  tail(lines: number): Promise<string>;
  follow(onData: (s: string) => void): OutputFollower;
  close(): void;
}

export interface Steps {
  /** Makes the artifact available unpacked; returns its folder (null: no artifact). */
  fetch(spec: ServiceSpec, signal: AbortSignal): Promise<string | null>;
  /** Installs apt packages and runs the steps; idempotent per artifact + install spec. */
  install(spec: ServiceSpec, dir: string | null, onOutput: (s: string) => void, signal: AbortSignal): Promise<void>;
  /** Starts the process; `onExitFailed` when the restart policy gives up; `onRunning` each (re)start. */
  start(d: Desired, cwd: string, env: Record<string, string>, events: { onRunning(): void; onFailed(reason: string): void; onRestart(): void }): Promise<RunHandle>;
  /** Re-attaches to the process a previous agent left running, if it is still that process. */
  adopt(d: Desired, events: { onRunning(): void; onFailed(reason: string): void; onRestart(): void }): Promise<RunHandle | undefined>;
  /** Runs the health checks; emits transitions. null check: healthy as soon as it runs. */
  health(spec: ServiceSpec, cwd: string, env: Record<string, string>, onChange: (healthy: boolean, detail: string) => void): { stop(): void };
  installLog(d: Desired): Promise<string>;
}

interface Current {
  d: Desired;
  /** The process's working dir, once it is known (at start, or from the state file on re-adoption). */
  cwd?: string;
  run?: RunHandle;
  health?: { stop(): void };
  state: InstanceState;
  detail: string;
  sinceMs: number;
  installTail: string;
}

const TAIL_BYTES = 4096;
/** Tries of fetch + install before an instance is reported failed, and the first wait between them. */
export const PREPARE_ATTEMPTS = 3;
export const PREPARE_BACKOFF_MS = 1000;
/** How often the self-fencing condition is checked; part of the controller's margin. */
export const FENCE_CHECK_MS = 100;

export const desiredKey = (d: Pick<Desired, "instance" | "epoch" | "revision">): string => `${d.instance}@${d.epoch}r${d.revision}`;

export function parseAssignment(a: Assignment__Output): Desired | null {
  if (!a.service) return null;
  return { service: a.service, instance: a.instance, epoch: a.epoch, revision: a.revision, spec: JSON.parse(a.spec_json) as ServiceSpec };
}

export class Converger {
  private desired: Desired | null | undefined;
  private current: Current | undefined;
  private abort: AbortController | undefined;
  private readonly runner: Coalescer;

  constructor(
    private readonly o: {
      dataDir: string;
      advertiseAddr: () => string;
      log: Logger;
      steps: Steps;
      report: (s: InstanceStatus) => void;
      now?: () => number;
      /** When the controller was last heard from; enables self-fencing (failover.stopAfterDisconnect). */
      lastContactMs?: () => number;
    },
  ) {
    this.runner = new Coalescer(
      () => this.pass(),
      (err) => this.o.log.error({ err }, "converge pass failed"),
    );
    if (o.lastContactMs) {
      this.fenceTimer = setInterval(() => this.checkFence(), FENCE_CHECK_MS);
      this.fenceTimer.unref();
    }
  }

  private fenceTimer: NodeJS.Timeout | undefined;
  /** Set by shutdown(): no new pass starts, and an aborted one is not redone. */
  private closing = false;
  /** Set while self-fenced: nothing runs until a new assignment arrives. */
  private fenced: string | undefined;

  /**
   * Self-fencing (DESIGN.md, "Epochs and fencing"): a service that asks for it is
   * stopped by the agent itself when the controller has been silent that long —
   * the controller waits at least as long (plus a margin) before it starts a
   * replacement, so at most one copy runs even across a partition.
   */
  private checkFence(): void {
    const c = this.current;
    const limit = c?.d.spec.failover.stopAfterDisconnectMs ?? 0;
    if (!c || limit <= 0 || this.fenced || c.state === "stopping" || c.state === "stopped") return;
    const quiet = this.now - this.o.lastContactMs!();
    if (quiet <= limit) return;
    this.fenced = `self-fenced: no word from the controller for ${(quiet / 1000).toFixed(1)}s (stopAfterDisconnect ${limit / 1000}s)`;
    this.o.log.warn({ instance: c.d.instance, epoch: c.d.epoch, quietMs: quiet }, "self-fencing: stopping the instance");
    this.desired = null;
    this.abort?.abort();
    this.kick();
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  private get stateFile(): string {
    return join(this.o.dataDir, "instance", "current.json");
  }

  /** What the agent ran before it restarted: re-adopt it without restarting. For Hello. */
  async restore(): Promise<{ service: string; instance: string; epoch: number }[]> {
    let d: Desired;
    let cwd: string | undefined;
    try {
      // The file is the assignment plus the working dir it was started in.
      const { cwd: saved, ...rest } = JSON.parse(await readFile(this.stateFile, "utf8")) as Desired & { cwd?: unknown };
      d = rest;
      cwd = typeof saved === "string" ? saved : undefined;
    } catch {
      return [];
    }
    const run = await this.o.steps.adopt(d, this.runEvents(d));
    if (!run) {
      await rm(this.stateFile, { force: true });
      return [];
    }
    this.current = { d, cwd: cwd ?? this.workDir(d), run, state: "starting", detail: "re-adopted after an agent restart", sinceMs: this.now, installTail: "" };
    this.startHealth(this.current, this.current.cwd!);
    this.o.log.info({ instance: d.instance, epoch: d.epoch, pid: run.pid() }, "re-adopted the running instance");
    return [{ service: d.service, instance: d.instance, epoch: d.epoch }];
  }

  /** What this host runs now, with its epoch: reported in every Hello so the controller can fence it. */
  runningNow(): { service: string; instance: string; epoch: number }[] {
    const c = this.current;
    if (!c || !c.run || c.state === "stopped") return [];
    return [{ service: c.d.service, instance: c.d.instance, epoch: c.d.epoch }];
  }

  /** The instance this host holds now and where it stands (for /metrics); undefined: none. */
  status(): { service: string; instance: string; epoch: number; state: InstanceState; restarts: number } | undefined {
    const c = this.current;
    if (!c) return undefined;
    return { service: c.d.service, instance: c.d.instance, epoch: c.d.epoch, state: c.state, restarts: c.run?.restarts() ?? 0 };
  }

  /**
   * Where `berth exec --service` runs: the instance's working dir, environment
   * (the spec's env and BERTH_*, as the process has them) and user — once it has
   * a working dir. A string says why not.
   */
  execContext(instance: string): { cwd: string; env: Record<string, string>; user: string } | string {
    const c = this.current;
    if (!c || c.d.instance !== instance) return `${instance} does not run on this host`;
    if (!c.cwd || c.state === "stopping" || c.state === "stopped") return `${instance} is ${c.state} on this host: there is nothing to exec into`;
    return { cwd: c.cwd, env: this.env(c.d), user: c.d.spec.run.user };
  }

  /** The newest assignment wins; a pass in progress is told to give up if it works on something else. */
  assign(a: Assignment__Output): void {
    const d = parseAssignment(a);
    // A word from the controller ends self-fencing: its assignment is the truth again.
    this.fenced = undefined;
    this.desired = d;
    if (this.current && (!d || desiredKey(d) !== desiredKey(this.current.d))) this.abort?.abort();
    this.kick();
  }

  /** Re-sends the current status (after a reconnect). */
  reportNow(): void {
    if (this.current) this.report(this.current);
  }

  /**
   * The agent stops; by default the service does not (a restarted agent re-adopts
   * it: upgrades of berth cause no downtime). `stopService` is for `berth dev`,
   * whose Ctrl-C must leave nothing running.
   */
  async shutdown(o: { stopService?: boolean } = {}): Promise<void> {
    this.closing = true;
    clearInterval(this.fenceTimer);
    this.abort?.abort();
    await this.runner.close();
    this.current?.health?.stop();
    if (o.stopService) {
      await this.current?.run?.stop();
      await rm(this.stateFile, { force: true });
    } else this.current?.run?.close();
  }

  async logs(instance: string, install: boolean, tail: number, follow: boolean, onData: (s: string) => void): Promise<OutputFollower | undefined> {
    const c = this.current;
    if (!c || c.d.instance !== instance) {
      onData(`[berth: ${instance} does not run on this host]\n`);
      return undefined;
    }
    if (install) {
      onData(lastLines(await this.o.steps.installLog(c.d), tail));
      return undefined;
    }
    if (!c.run) {
      onData(`[berth: ${instance} is ${c.state}; no output yet]\n`);
      return undefined;
    }
    onData(await c.run.tail(tail));
    return follow ? c.run.follow(onData) : undefined;
  }

  private kick(): void {
    if (!this.closing) this.runner.kick();
  }

  private workDir(d: Desired): string {
    return join(this.o.dataDir, "instances", d.instance);
  }

  private env(d: Desired): Record<string, string> {
    return {
      ...d.spec.run.env,
      BERTH_SERVICE: d.service,
      BERTH_INSTANCE: d.instance,
      BERTH_EPOCH: String(d.epoch),
      BERTH_VERSION: String(d.revision),
      BERTH_ADVERTISE_ADDR: this.o.advertiseAddr(),
    };
  }

  /** Moves to `state` and reports it; false (nothing sent) when that is where it stands. */
  private set(c: Current, state: InstanceState, detail = ""): boolean {
    if (c.state === state && c.detail === detail) return false;
    c.state = state;
    c.detail = detail;
    c.sinceMs = this.now;
    this.report(c);
    return true;
  }

  private report(c: Current): void {
    const r = c.run?.resources() ?? { enforced: false, note: "" };
    this.o.report({
      service: c.d.service,
      instance: c.d.instance,
      epoch: c.d.epoch,
      revision: c.d.revision,
      state: c.state,
      detail: c.detail.slice(0, 4000),
      restarts: c.run?.restarts() ?? 0,
      since_ms: c.sinceMs,
      age_ms: Math.max(0, this.now - c.sinceMs),
      pid: c.run?.pid() ?? 0,
      resources_enforced: r.enforced,
      resources_note: r.note,
      install_tail: c.installTail.slice(-TAIL_BYTES),
    });
  }

  private runEvents(d: Desired): { onRunning(): void; onFailed(reason: string): void; onRestart(): void } {
    const mine = (): Current | undefined => (this.current && desiredKey(this.current.d) === desiredKey(d) ? this.current : undefined);
    return {
      onRunning: () => {
        const c = mine();
        if (c && !c.d.spec.health && (c.state === "starting" || c.state === "unhealthy")) this.set(c, "healthy", "running (no health check)");
      },
      onRestart: () => {
        const c = mine();
        if (c) {
          // The state may stand already: the restart count is news either way.
          if (!this.set(c, c.d.spec.health ? "unhealthy" : "starting", "process exited; restarting with backoff")) this.report(c);
        }
      },
      onFailed: (reason) => {
        const c = mine();
        if (c) {
          c.health?.stop();
          this.set(c, "failed", reason);
        }
      },
    };
  }

  private startHealth(c: Current, cwd: string): void {
    c.health = this.o.steps.health(c.d.spec, cwd, this.env(c.d), (healthy, detail) => {
      if (this.current !== c || c.state === "failed" || c.state === "stopping") return;
      this.set(c, healthy ? "healthy" : "unhealthy", detail);
    });
  }

  private async pass(): Promise<void> {
    const want = this.desired;
    if (want === undefined) return; // no assignment received yet: keep what runs (re-adopted)
    const cur = this.current;
    if (cur && (!want || desiredKey(want) !== desiredKey(cur.d))) {
      const why = this.fenced ?? "";
      this.set(cur, "stopping", why);
      cur.health?.stop();
      await cur.run?.stop();
      this.set(cur, "stopped", why);
      this.current = undefined;
      await rm(this.stateFile, { force: true });
      this.o.log.info({ instance: cur.d.instance, epoch: cur.d.epoch }, "instance stopped");
    }
    if (!want || this.current) return;

    const c: Current = { d: want, state: "pending", detail: "", sinceMs: this.now, installTail: "" };
    this.current = c;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.report(c);
    try {
      // Fetching and installing meet passing trouble (a controller restarting
      // mid-download, a mirror hiccup): a few tries with backoff before the
      // instance is reported failed and placed elsewhere.
      let dir: string | null = null;
      for (let attempt = 1; ; attempt++) {
        try {
          this.set(c, "fetching", attempt > 1 ? `attempt ${attempt} of ${PREPARE_ATTEMPTS}` : "");
          dir = await this.o.steps.fetch(want.spec, signal);
          signal.throwIfAborted();
          this.set(c, "installing", attempt > 1 ? `attempt ${attempt} of ${PREPARE_ATTEMPTS}` : "");
          let lastReport = 0;
          await this.o.steps.install(
            want.spec,
            dir,
            (s) => {
              c.installTail = (c.installTail + s).slice(-TAIL_BYTES);
              // Install output streams to the controller at most a few times a second.
              if (this.now - lastReport > 500) {
                lastReport = this.now;
                this.report(c);
              }
            },
            signal,
          );
          signal.throwIfAborted();
          break;
        } catch (err) {
          if (signal.aborted || attempt >= PREPARE_ATTEMPTS) throw err;
          const delay = PREPARE_BACKOFF_MS * 2 ** (attempt - 1);
          this.o.log.warn({ instance: want.instance, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, `${c.state} failed; retrying`);
          await sleep(clampDelayMs(delay), undefined, { signal }).catch(() => undefined);
          signal.throwIfAborted();
        }
      }
      const cwd = dir ?? this.workDir(want);
      await mkdir(cwd, { recursive: true });
      c.cwd = cwd;
      this.set(c, "starting");
      await mkdir(join(this.o.dataDir, "instance"), { recursive: true });
      // Recorded before the start: a restarted agent re-adopts what this one started.
      await writeFile(this.stateFile, JSON.stringify({ ...want, cwd }));
      // The assignment may have been withdrawn (fencing, a move) while we prepared.
      signal.throwIfAborted();
      c.run = await this.o.steps.start(want, cwd, this.env(want), this.runEvents(want));
      this.report(c);
      if (this.current === c && c.state !== "failed") this.startHealth(c, cwd);
    } catch (err) {
      if (signal.aborted) {
        await c.run?.stop();
        this.current = undefined;
        if (this.closing) return; // the agent stops: what was not started stays unstarted
        this.o.log.info({ instance: want.instance }, "assignment changed while preparing; starting over");
        this.runner.requeue();
        return;
      }
      const msg = err instanceof Error ? err.message : String(err);
      this.o.log.warn({ instance: want.instance, err: msg, state: c.state }, "instance failed");
      this.set(c, "failed", `${c.state}: ${msg}`);
    }
  }
}

function lastLines(s: string, n: number): string {
  const lines = s.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.slice(-n).join("\n") + (lines.length ? "\n" : "");
}
