/**
 * Runs one service instance's process and keeps it running: start, restart on
 * exit after the restart policy's delay, stop without leaving children behind,
 * and re-adopt the process after an agent restart. One Supervisor per instance
 * and per lifecycle: once stopped, failed or detached it is done, and the agent
 * makes a new one for the next start.
 *
 * The process is built to outlive the agent: it leads its own session and
 * process group (a signal to the agent's group never reaches it), its output
 * goes to a file rather than a pipe the agent holds (see logs.ts), and a state
 * file names it so the next agent can adopt it (see state-file.ts). An adopted
 * process is not our child: its exit is noticed by polling /proc, and its exit
 * status is unknown.
 *
 * One async loop owns the process; stop() and detach() only interrupt it, so
 * the lifecycle cannot fork into two paths that both restart or both kill.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync } from "node:fs";
import { EventEmitter } from "node:events";
import { createLogger, type Logger } from "../../shared/log/logger.js";
import { formatDurationMs } from "../../shared/duration.js";
import { cgroupHolds, cgroupName, cgroupPids, createCgroup, DEFAULT_CGROUP_ROOT, joinCgroup, removeCgroupQuietly, type CgroupHandle } from "./cgroup.js";
import { serviceEnv, spawnFailure } from "./env.js";
import { monoMs } from "../../shared/clock.js";
import {
  checkLogOptions,
  DEFAULT_LOG_FILES,
  DEFAULT_LOG_MAX_BYTES,
  followLog,
  openLogForChild,
  rotateIfNeeded,
  tailLog,
  type LogFilesOptions,
  type LogFollower,
} from "./logs.js";
import { readSecretEnv } from "../secrets/material.js";
import { isLive, readProcStat, resolveUser, UnknownUserError, type UserIds } from "./proc.js";
import { emptyGroup, groupMembers } from "./process-group.js";
import {
  DEFAULT_RESTART_POLICY,
  describeExit,
  nextRestart,
  type ExitInfo,
  type RestartDecision,
  type RestartPolicy,
} from "./restart-policy.js";
import {
  readRecord,
  removeRecordSync,
  runConfigSchema,
  StateFileError,
  writeRecordSync,
  type ProcessRecord,
  type RunConfig,
} from "./state-file.js";
import { setIntervalClamped, setTimeoutClamped } from "../../shared/timer.js";

export type SupervisorStateName = "starting" | "running" | "backoff" | "stopping" | "stopped" | "failed";

export interface SupervisorState {
  state: SupervisorStateName;
  /** starting (once spawned), running, stopping. */
  pid?: number;
  /** Restarts so far (the first start is not one); carried over by adoption. */
  restarts: number;
  /** Of the last exit (backoff, stopped, failed); null when killed by a signal or unknown. */
  exitCode?: number | null;
  signal?: string | null;
  /** Why this state: the exit and the policy's verdict, a spawn error, how a stop went. */
  reason?: string;
  /** Supervisor clock (ms since epoch) when this state began. */
  sinceMs: number;
  /** The process was adopted after an agent restart, so its exit status will be unknown. */
  adopted: boolean;
  /** backoff: when the next start is due. */
  nextStartAtMs?: number;
  /**
   * running, after quick exits in a row: how many (the restart policy's failures), and when
   * this run counts as stable, the count starting again from 0. Absent when nothing exited quickly.
   */
  quick?: { exits: number; stableAtMs: number };
  /** Only when limits were asked for: whether the cgroup holds the process. */
  cgroupEnforced?: boolean;
  /** Why not, when cgroupEnforced is false. */
  cgroupReason?: string;
}

/** What the supervisor needs from its host rather than from the spec; tests swap them. */
export interface SupervisorRuntime {
  /** Child logger fields `instance` and `epoch` are added. @default silent */
  log?: Logger;
  /** Wall clock, for the times reported (sinceMs, nextStartAtMs) and recorded. @default Date.now */
  now?: () => number;
  /** Monotonic clock, for how long a run lasted (the restart policy's "quick failure"). @default monoMs */
  mono?: () => number;
  /** For the restart jitter. @default Math.random */
  random?: () => number;
  /** @default /sys/fs/cgroup */
  cgroupRoot?: string;
  /** How often the log size is checked for rotation. @default 1000 */
  logCheckIntervalMs?: number;
  /** How often an adopted process is looked for in /proc. @default 500 */
  exitPollMs?: number;
}

export interface SupervisorOptions extends SupervisorRuntime {
  instanceId: string;
  /** Recorded in the state file, so a restarted agent can tell which assignment the process runs. */
  epoch: number;
  /** Ditto: opaque here, compared by the agent with its assignment's. */
  specHash: string;
  /** The unpacked artifact; the process's cwd. The run user must be able to enter it. */
  workDir: string;
  /** Absolute, relative to workDir ("./bin/web"), or a program on PATH. */
  command: string;
  args: string[];
  /** The spec's env plus BERTH_*; merged over a minimal PATH/HOME/LANG (see env.ts). */
  env: Record<string, string>;
  /** A JSON object of secret variables, read at each launch and merged over env; never written to the state file. */
  secretEnvFile?: string;
  /** "" = the agent's own user. */
  user: string;
  /** The run user's HOME, when not the one passwd gives (a default service user's, under the agent's data dir). */
  home?: string;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  logDir: string;
  /** @default 10 MiB */
  logMaxBytes?: number;
  /** Files kept, the current one included. @default 3 */
  logFiles?: number;
  /** The JSON state file for re-adoption (e.g. <dataDir>/instances/<id>.json). */
  stateFile: string;
  /**
   * Limits through the run's cgroup (berth/<instanceId>-<tag>, see cgroupName). Every run
   * gets one where the agent may make it; only with limits is its absence reported.
   */
  cgroup?: { cpu: number; memoryMb: number } | null;
  restartPolicy?: Partial<RestartPolicy>;
}

export interface SupervisorEvents {
  state: [SupervisorState];
}

export class SupervisorConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid supervisor options: ${problems.join("; ")}`);
    this.name = "SupervisorConfigError";
  }
}

/** start() on a supervisor that has already been started, stopped or detached. */
export class SupervisorUsedError extends Error {
  constructor(instanceId: string) {
    super(`supervisor of ${instanceId} has already been started; make a new one`);
    this.name = "SupervisorUsedError";
  }
}

export type AdoptResult =
  | { adopted: true; supervisor: Supervisor; record: ProcessRecord }
  | { adopted: false; reason: string; record?: ProcessRecord };

/** The process the loop currently owns. */
interface Run {
  pid: number;
  pgid: number;
  startTime: number;
  startedAtMs: number;
  /** The start on the monotonic clock: run lengths are measured on it, never on the wall clock. */
  startedMono: number;
  adopted: boolean;
  cgroup: CgroupHandle | null;
  /** Settles once the leader has exited (status unknown when adopted). */
  exited: Promise<ExitInfo>;
  /** Stop watching without touching the process (detach). */
  release(): void;
}

type Interrupt = "stop" | "detach";
type Launch = { ok: true; run: Run } | { ok: false; message: string; fatal: boolean };

const NO_STATUS: ExitInfo = { code: null, signal: null };

/** How long stop() waits for the exit event of a child already gone from /proc: a formality. */
const EXIT_EVENT_WAIT_MS = 2_000;

/** How long a stop tries to remove a cgroup still held by an exited process not yet reaped, and how often. */
const CGROUP_RMDIR_WAIT_MS = 1_000;
const CGROUP_RMDIR_RETRY_MS = 10;

const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeoutClamped(resolve, ms));

export class Supervisor extends EventEmitter<SupervisorEvents> {
  /** The validated configuration, as written to the state file. */
  readonly config: RunConfig;
  private readonly stateFile: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly mono: () => number;
  private readonly random: () => number;
  private readonly cgroupRoot: string;
  private readonly logCheckIntervalMs: number;
  private readonly exitPollMs: number;

  private snapshot: SupervisorState;
  private restarts = 0;
  private failures = 0;
  private cgroupStatus: { enforced: boolean; reason?: string } | undefined;
  private started = false;
  private interruptKind: Interrupt | undefined;
  private fireInterrupt!: (kind: Interrupt) => void;
  private readonly interrupted: Promise<Interrupt>;
  private loopDone: Promise<void> = Promise.resolve();
  private rotateTimer: NodeJS.Timeout | undefined;
  /** The rotation in progress, if any: never two at once, and stop() waits for it. */
  private rotation: Promise<void> | undefined;
  /** The run while its process runs: set where a run begins (launch, adoptRun), unset from the moment it exits or is told to stop. */
  private live: Run | undefined;

  constructor(options: SupervisorOptions) {
    super();
    const parsed = runConfigSchema.safeParse({
      instanceId: options.instanceId,
      epoch: options.epoch,
      specHash: options.specHash,
      workDir: options.workDir,
      command: options.command,
      args: options.args,
      env: options.env,
      secretEnvFile: options.secretEnvFile ?? "",
      user: options.user,
      home: options.home ?? "",
      stopSignal: options.stopSignal,
      stopTimeoutMs: options.stopTimeoutMs,
      logDir: options.logDir,
      logMaxBytes: options.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES,
      logFiles: options.logFiles ?? DEFAULT_LOG_FILES,
      cgroup: options.cgroup ?? null,
      restartPolicy: { ...DEFAULT_RESTART_POLICY, ...options.restartPolicy },
    } satisfies RunConfig);
    if (!parsed.success) {
      throw new SupervisorConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
    }
    this.config = parsed.data;
    checkLogOptions(this.logOptions());
    this.stateFile = options.stateFile;
    this.log = (options.log ?? createLogger("supervisor", "silent")).child({ instance: this.config.instanceId, epoch: this.config.epoch });
    this.now = options.now ?? Date.now;
    this.mono = options.mono ?? monoMs;
    this.random = options.random ?? Math.random;
    this.cgroupRoot = options.cgroupRoot ?? DEFAULT_CGROUP_ROOT;
    this.logCheckIntervalMs = options.logCheckIntervalMs ?? 1_000;
    this.exitPollMs = options.exitPollMs ?? 500;
    this.interrupted = new Promise((resolve) => {
      this.fireInterrupt = (kind) => {
        if (this.interruptKind) return;
        this.interruptKind = kind;
        resolve(kind);
      };
    });
    this.snapshot = { state: "stopped", restarts: 0, sinceMs: this.now(), adopted: false };
  }

  /** The current state; the same object the last "state" event carried. */
  get state(): SupervisorState {
    return this.snapshot;
  }

  /** Starts the process and supervises it until stop() or detach(). */
  start(): void {
    if (this.started) throw new SupervisorUsedError(this.config.instanceId);
    this.started = true;
    this.begin(undefined);
  }

  /**
   * Stops the process and everything it started (stopSignal to the group, up to
   * stopTimeoutMs, then SIGKILL), cancels a pending restart, removes the cgroup
   * and the state file. Resolves with the final state. Safe to call repeatedly.
   */
  async stop(): Promise<SupervisorState> {
    if (!this.started) {
      this.started = true;
      this.fireInterrupt("stop");
      return this.snapshot;
    }
    this.fireInterrupt("stop");
    await this.loopDone;
    return this.snapshot;
  }

  /**
   * Stops supervising and leaves the process running, with its state file, for
   * the next agent to adopt: what the agent does when it shuts down for an
   * upgrade. The state stays what it was; no event follows.
   */
  async detach(): Promise<void> {
    this.started = true;
    this.fireInterrupt("detach");
    await this.loopDone;
  }

  /**
   * The cgroup of the process that runs now, for what runs on its behalf (an exec
   * health check); null between runs, while a run ends, and where it has none.
   */
  runCgroup(): CgroupHandle | null {
    return this.live?.cgroup ?? null;
  }

  /** The last `lines` lines of output, across rotated files. */
  tail(lines: number): Promise<string> {
    return tailLog(this.logOptions(), lines);
  }

  /** Output from now on, across rotations, until close(). */
  follow(onData: (chunk: Buffer) => void, pollMs?: number): LogFollower {
    return followLog(this.logOptions(), onData, pollMs);
  }

  /**
   * Attaches to the process a previous agent started, when the state file names
   * one that is still alive and is the same process (same start time, so a pid
   * reused by another program is never taken for ours). The process keeps
   * running untouched; the returned supervisor is in state "running", adopted.
   *
   * When it cannot adopt, it cleans up after the dead run — kills what is left
   * of its group and cgroup (never when the pid now belongs to someone else),
   * removes the state file — and says why.
   */
  static async adopt(stateFile: string, runtime: SupervisorRuntime = {}): Promise<AdoptResult> {
    let record: ProcessRecord | undefined;
    try {
      record = await readRecord(stateFile);
    } catch (e) {
      if (!(e instanceof StateFileError)) throw e;
      removeRecordSync(stateFile);
      return { adopted: false, reason: `${e.message}; removed it` };
    }
    if (record === undefined) return { adopted: false, reason: `no state file at ${stateFile}` };

    const stat = readProcStat(record.pid);
    if (isLive(stat) && stat.startTime === record.startTime) {
      if (record.cgroup && !cgroupHolds(record.cgroup, record.pid)) record = finishCgroupMove(stateFile, record);
      const sup = new Supervisor({ ...record.config, ...runtime, stateFile });
      sup.adoptRun(record);
      return { adopted: true, supervisor: sup, record };
    }
    let reason: string;
    if (stat !== undefined && stat.startTime !== record.startTime) {
      // Someone else's process now, possibly leading a group of its own: leave its
      // group alone. Only the cgroup, named for this instance, is certainly ours.
      reason = `pid ${record.pid} now belongs to another process (start time ${stat.startTime}, recorded ${record.startTime})`;
      if (record.cgroup) await emptyGroup({ pgid: null, cgroup: record.cgroup }, "SIGKILL", 0);
    } else {
      // Gone, or a zombie of ours. No live process has that pid, so whatever still
      // carries it as pgid or sid is a leftover of our run.
      reason = `process ${record.pid} has exited`;
      const ref = { pgid: record.pgid, cgroup: record.cgroup };
      const left = groupMembers(ref);
      if (left.length > 0) {
        await emptyGroup(ref, record.config.stopSignal, record.config.stopTimeoutMs);
        reason += `; ended ${left.length} leftover process${left.length === 1 ? "" : "es"} of its group`;
      }
    }
    if (record.cgroup) removeCgroupQuietly(record.cgroup);
    removeRecordSync(stateFile);
    return { adopted: false, reason: `${reason}; removed the state file`, record };
  }

  private adoptRun(record: ProcessRecord): void {
    this.started = true;
    this.restarts = record.restarts;
    this.failures = record.failures;
    if (record.config.cgroup) {
      this.cgroupStatus = record.cgroup ? { enforced: true } : { enforced: false, reason: record.cgroupReason };
    }
    const run = this.watchAdopted(record);
    this.live = run;
    this.enter("running", { pid: run.pid, adopted: true, ...this.stableAt(record.startedAtMs) });
    this.log.info({ pid: run.pid }, "adopted running process");
    this.begin(run);
  }

  private begin(first: Run | undefined): void {
    this.rotateTimer = setIntervalClamped(() => void this.rotateLog(), this.logCheckIntervalMs);
    this.rotateTimer.unref();
    this.loopDone = this.loop(first)
      .catch((e: unknown) => {
        this.log.error({ err: e }, "supervisor loop failed");
        this.enter("failed", { reason: `supervisor error: ${e instanceof Error ? e.message : String(e)}` });
      })
      .finally(async () => {
        clearInterval(this.rotateTimer);
        // Once stop() or detach() resolves, the supervisor touches no file any more.
        await this.rotation;
      });
  }

  private async loop(first: Run | undefined): Promise<void> {
    let run = first;
    for (;;) {
      if (run === undefined) {
        if (this.interruptKind) return this.finishIdle();
        const launched = await this.launch();
        if (!launched.ok) {
          if (launched.fatal) {
            removeRecordSync(this.stateFile);
            this.enter("failed", { reason: `cannot start: ${launched.message}` });
            return;
          }
          // A spawn that fails is a quick failure like any other.
          const nowMono = this.mono();
          const decision = this.decide(nowMono, nowMono, NO_STATUS);
          const reason =
            decision.action === "fail"
              ? `cannot start: ${launched.message}; ${decision.failures} times in a row`
              : `cannot start: ${launched.message} (restart ${decision.failures} of ${this.config.restartPolicy.maxQuickFailures})`;
          if (await this.afterExit(decision, NO_STATUS, reason)) return;
          continue;
        }
        run = launched.run;
      }
      const current = run;
      run = undefined;
      const outcome = await Promise.race([current.exited, this.interrupted]);
      this.live = undefined;
      if (outcome === "stop") return this.terminate(current);
      if (outcome === "detach") return current.release();
      const exitMono = this.mono();
      // The leader is gone; its children must not live on into the next run.
      const left = await emptyGroup(current, this.config.stopSignal, this.config.stopTimeoutMs);
      if (left.survivors.length > 0) this.log.warn({ pids: left.survivors }, "processes survived SIGKILL");
      await this.dropCgroup(current);
      this.log.info({ code: outcome.code, signal: outcome.signal, adopted: current.adopted }, "process exited");
      if (this.interruptKind === "detach") return;
      if (this.interruptKind === "stop") return this.finishIdle(outcome, `${describeExit(outcome)}; stopped`);
      const decision = this.decide(Math.min(current.startedMono, exitMono), exitMono, outcome);
      const reason = current.adopted ? `${decision.reason}; exit status unknown: the process was adopted, not our child` : decision.reason;
      if (await this.afterExit(decision, outcome, reason)) return;
    }
  }

  /** A run that follows quick exits in a row: when it will count as stable (RestartPolicy.stableAfterMs). */
  private stableAt(startedAtMs: number): { quick?: { exits: number; stableAtMs: number } } {
    return this.failures > 0 ? { quick: { exits: this.failures, stableAtMs: startedAtMs + this.config.restartPolicy.stableAfterMs } } : {};
  }

  /** Times on the monotonic clock. */
  private decide(lastStartMono: number, lastExitMono: number, exit: ExitInfo): RestartDecision {
    return nextRestart({ failures: this.failures, lastStartMs: lastStartMono, lastExitMs: lastExitMono }, exit, this.mono(), this.config.restartPolicy, this.random);
  }

  /**
   * Applies the policy's verdict: "failed", or "backoff" and a wait that stop()
   * or detach() cut short. Returns true when the loop is over.
   */
  private async afterExit(decision: RestartDecision, exit: ExitInfo, reason: string): Promise<boolean> {
    this.failures = decision.failures;
    const exitFields = { exitCode: exit.code, signal: exit.signal };
    if (decision.action === "fail") {
      removeRecordSync(this.stateFile);
      this.enter("failed", { ...exitFields, reason });
      this.log.warn({ reason }, "giving up on the process");
      return true;
    }
    this.enter("backoff", { ...exitFields, reason, nextStartAtMs: this.now() + decision.delayMs });
    this.log.info({ delayMs: decision.delayMs, reason }, "restarting after a delay");
    let timer: NodeJS.Timeout | undefined;
    const woke = await Promise.race([
      new Promise<"timer">((resolve) => {
        timer = setTimeoutClamped(() => resolve("timer"), decision.delayMs);
      }),
      this.interrupted,
    ]);
    clearTimeout(timer);
    if (woke === "detach") return true;
    if (woke === "stop") {
      this.finishIdle(exit, `${reason}; restart cancelled by stop`);
      return true;
    }
    this.restarts++;
    return false;
  }

  /** Stopped while nothing ran (before the first start, in backoff, or right after an exit). */
  private finishIdle(exit?: ExitInfo, reason = "stopped before it started"): void {
    removeRecordSync(this.stateFile);
    this.enter("stopped", { exitCode: exit?.code ?? null, signal: exit?.signal ?? null, reason });
  }

  private async launch(): Promise<Launch> {
    const cfg = this.config;
    this.enter("starting", {});
    let ids: UserIds | undefined;
    try {
      if (cfg.user !== "") ids = resolveUser(cfg.user);
    } catch (e) {
      return { ok: false, fatal: e instanceof UnknownUserError, message: errText(e) };
    }
    let secretEnv: Record<string, string> = {};
    try {
      if (cfg.secretEnvFile) secretEnv = readSecretEnv(cfg.secretEnvFile);
    } catch (e) {
      // Gone with a reboot's tmpfs, say: retried with backoff until the agent writes it again.
      return { ok: false, fatal: false, message: `the secret environment ${cfg.secretEnvFile} cannot be read: ${errText(e)}` };
    }
    const logOpts = this.logOptions();
    mkdirSync(cfg.logDir, { recursive: true });
    await this.rotateLog();

    // A cgroup of its own for every run the host allows, limits or not: it is how a
    // stop finds every process the service started, a daemon that left the session with
    // a second setsid() too, without reading all of /proc (process-group.ts). Without
    // limits, a host that allows none (no root, no writable hierarchy) is no news: the
    // stop falls back to scanning /proc, and nothing is reported.
    let cgroup: CgroupHandle | null = null;
    const made = createCgroup(cgroupName(cfg.instanceId, this.stateFile), cfg.cgroup ?? null, this.cgroupRoot);
    if (made.ok) cgroup = made.handle;
    if (cfg.cgroup) this.cgroupStatus = made.ok ? { enforced: true } : { enforced: false, reason: made.reason };
    else if (!made.ok) this.log.debug({ reason: made.reason }, "no cgroup: stops scan /proc for the service's processes");

    const fd = openLogForChild(logOpts);
    const env = serviceEnv(process.env, { ...secretEnv, ...cfg.env }, ids ? cfg.home || ids.home : undefined, ids);
    let child: ChildProcess;
    try {
      child = spawn(cfg.command, cfg.args, {
        cwd: cfg.workDir,
        env,
        // Own session and process group: stop reaches the whole tree, and the
        // agent's terminal or group signals never reach the service.
        detached: true,
        // The same O_APPEND descriptor for both: the service writes straight to its log.
        stdio: ["ignore", fd, fd],
        ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      });
    } catch (e) {
      // Most spawn failures arrive as an 'error' event; bad arguments throw here.
      if (cgroup) removeCgroupQuietly(cgroup);
      return { ok: false, fatal: false, message: errText(e) };
    } finally {
      // The child holds its own copy from here on.
      closeSync(fd);
    }
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    const exited = new Promise<ExitInfo>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const pid = child.pid;
    if (pid === undefined) {
      const err = await spawnError;
      if (cgroup) removeCgroupQuietly(cgroup);
      return { ok: false, fatal: false, message: spawnFailure(cfg.command, err, env.PATH ?? "", cfg.user, cfg.workDir) };
    }
    // Later 'error' events (a failed kill) must not crash the agent; we signal with process.kill anyway.
    child.on("error", (e) => this.log.warn({ err: e }, "child process error"));

    const stat = readProcStat(pid);
    const startedAtMs = this.now();
    const run: Run = {
      pid,
      pgid: pid,
      startTime: stat?.startTime ?? 0,
      startedAtMs,
      startedMono: this.mono(),
      adopted: false,
      cgroup,
      exited,
      release: () => child.unref(),
    };
    const recordOf = (): ProcessRecord => ({
      version: 1,
      instanceId: cfg.instanceId,
      epoch: cfg.epoch,
      specHash: cfg.specHash,
      pid,
      pgid: pid,
      startTime: run.startTime,
      startedAtMs,
      restarts: this.restarts,
      failures: this.failures,
      cgroup: run.cgroup,
      cgroupReason: this.cgroupStatus?.reason ?? "",
      config: cfg,
    });
    // The record first, the move into the cgroup after: the move takes 5–15 ms (joinCgroup),
    // and an agent killed meanwhile would leave a process that nothing names — not the
    // next agent, nor the fencing watchdog, which stops what the record names (its group
    // reaches the process before the move as well as after; adopt() finishes the move).
    // That first write skips the fsyncs, which under I/O load would keep the process out
    // of its cgroup (its limits, and the record of what it forks) for as long: every
    // process on this machine sees it all the same, and a power loss ends the process too.
    // The durable write follows the move.
    const write = (durable: boolean): string | undefined => {
      try {
        writeRecordSync(this.stateFile, recordOf(), { durable });
        return undefined;
      } catch (e) {
        return errText(e);
      }
    };
    let failed = write(cgroup === null);
    if (cgroup && failed === undefined) {
      try {
        // Right after spawn, with whatever the process forked meanwhile (joinCgroup).
        joinCgroup(cgroup, pid);
      } catch (e) {
        // A process cannot be taken back out of a cgroup: one it got into (v1's first
        // hierarchy, say) stays the run's, for its stop to read and remove; one it is in
        // none of goes now, and the stop scans /proc.
        if (!cgroupPids(cgroup).includes(pid)) {
          removeCgroupQuietly(cgroup);
          run.cgroup = null;
        }
        if (cfg.cgroup) this.cgroupStatus = { enforced: false, reason: `cannot move the process into its cgroup: ${errText(e)}` };
      }
      failed = write(true);
    }
    if (failed !== undefined) {
      // A process no state file names would be lost to the next agent: do not keep it.
      await emptyGroup(run, "SIGKILL", 0);
      await this.dropCgroup(run);
      return { ok: false, fatal: true, message: `cannot write the state file: ${failed}` };
    }
    // Live before "running" is told: what that starts (the health checks) may ask for its cgroup at once.
    this.live = run;
    this.enter("running", { pid, ...this.stableAt(startedAtMs) });
    this.log.info({ pid, restarts: this.restarts }, "process started");
    return { ok: true, run };
  }

  /** Not our child: no exit event, so look for it in /proc until it is gone (or a zombie, or someone else). */
  private watchAdopted(record: ProcessRecord): Run {
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<ExitInfo>((resolve) => {
      timer = setIntervalClamped(() => {
        const st = readProcStat(record.pid);
        if (!isLive(st) || st.startTime !== record.startTime) {
          clearInterval(timer);
          resolve({ code: null, signal: null });
        }
      }, this.exitPollMs);
    });
    return {
      pid: record.pid,
      pgid: record.pgid,
      startTime: record.startTime,
      startedAtMs: record.startedAtMs,
      // Started by an earlier agent: only the recorded wall time says when (clamped, should the clock have stepped back).
      startedMono: this.mono() - Math.max(0, this.now() - record.startedAtMs),
      adopted: true,
      cgroup: record.cgroup,
      exited,
      release: () => clearInterval(timer),
    };
  }

  private async terminate(run: Run): Promise<void> {
    const cfg = this.config;
    this.enter("stopping", { pid: run.pid, adopted: run.adopted });
    const result = await emptyGroup(run, cfg.stopSignal, cfg.stopTimeoutMs, {
      exited: run.adopted ? undefined : run.exited,
      // 0: the start time could not be read at spawn; then a scan comes first.
      leaderStartTime: run.startTime || undefined,
    });
    let exit: ExitInfo = { code: null, signal: null };
    // The child's status comes with its exit event, moments after /proc lets go of it.
    if (!run.adopted) exit = (await within(run.exited, EXIT_EVENT_WAIT_MS)) ?? exit;
    run.release();
    const cgroupLeft = await this.dropCgroup(run);
    removeRecordSync(this.stateFile);
    let reason = result.forced
      ? `still running ${formatDurationMs(cfg.stopTimeoutMs)} after ${cfg.stopSignal}: killed with SIGKILL`
      : `stopped with ${cfg.stopSignal}`;
    if (run.adopted) reason += " (adopted: exit status unknown)";
    if (result.survivors.length > 0) reason += `; survived SIGKILL: ${result.survivors.join(", ")}`;
    if (cgroupLeft.length > 0) reason += `; could not remove ${cgroupLeft.join(", ")}`;
    this.enter("stopped", { exitCode: exit.code, signal: exit.signal, reason, adopted: run.adopted });
    this.log.info({ reason }, "process stopped");
  }

  /**
   * Removes the run's cgroup once it is empty; returns the directories that would not go. A
   * process that exited but that its parent has not reaped yet (an adopted process's parent is
   * not this agent) still holds it busy, though cgroup.procs no longer lists it: rmdir is tried
   * again for a moment before giving up, and a process found in it meanwhile is killed.
   */
  private async dropCgroup(run: Run): Promise<string[]> {
    if (!run.cgroup) return [];
    const cgroup = run.cgroup;
    run.cgroup = null;
    const until = this.mono() + CGROUP_RMDIR_WAIT_MS;
    let left = removeCgroupQuietly(cgroup);
    while (left.length > 0 && this.mono() < until) {
      // The group was emptied before: what is in it now came after (an exec health check
      // moved in late, as the run ended), and goes the same way.
      for (const pid of cgroupPids({ ...cgroup, dirs: left })) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
      await sleepMs(CGROUP_RMDIR_RETRY_MS);
      left = removeCgroupQuietly({ ...cgroup, dirs: left });
    }
    if (left.length > 0) this.log.warn({ dirs: left }, "cgroup not removed");
    return left;
  }

  /** Rotates if due; joins the rotation in progress rather than starting a second one. */
  private rotateLog(): Promise<void> {
    this.rotation ??= rotateIfNeeded(this.logOptions())
      .then(
        () => undefined,
        (e: unknown) => this.log.warn({ err: e }, "log rotation failed"),
      )
      .finally(() => (this.rotation = undefined));
    return this.rotation;
  }

  private logOptions(): LogFilesOptions {
    return { dir: this.config.logDir, name: this.config.instanceId, maxBytes: this.config.logMaxBytes, files: this.config.logFiles };
  }

  private enter(state: SupervisorStateName, fields: Partial<Omit<SupervisorState, "state" | "restarts" | "sinceMs">>): void {
    const cg = this.cgroupStatus;
    this.snapshot = {
      state,
      restarts: this.restarts,
      sinceMs: this.now(),
      adopted: false,
      ...(cg ? { cgroupEnforced: cg.enforced, ...(cg.reason !== undefined ? { cgroupReason: cg.reason } : {}) } : {}),
      ...fields,
    };
    this.emit("state", this.snapshot);
  }
}

/** The value of `p`, or undefined when it takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeoutClamped(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The agent that started the process died during its move into its cgroup (launch()
 * writes the record first): the move is finished now, or, when it cannot be, the record
 * says the process runs without one (its stops scan /proc) and why. Rewritten on disk.
 */
function finishCgroupMove(stateFile: string, record: ProcessRecord): ProcessRecord {
  const cgroup = record.cgroup!;
  let next = record;
  try {
    joinCgroup(cgroup, record.pid);
  } catch (e) {
    if (cgroupPids(cgroup).length === 0) {
      removeCgroupQuietly(cgroup);
      next = { ...record, cgroup: null, cgroupReason: `cannot move the process into its cgroup: ${errText(e)}` };
    }
  }
  try {
    writeRecordSync(stateFile, next);
  } catch {
    // The record on disk still names the cgroup: the next adoption tries again.
  }
  return next;
}