/**
 * Makes this host match its assignment (DESIGN.md: level-triggered, whole
 * desired state): the newest assignment is the only truth; a stream of them
 * collapses to the last. One pass at a time: stop what should not run, then
 * fetch → install → start → health-check what should.
 *
 * The steps are injected (Steps) so this file holds only the order and the
 * reporting; each step is a module of its own with its own tests.
 */
import { selfFencedDetail } from "../../shared/fence.js";
import { maskSecrets, readSecretEnv, SecretMaterialError, secretValuesFor, type SecretMaterial, type SecretValues } from "../secrets/material.js";
import { RunAsError, type RunAs } from "../runas/service-user.js";
import { checkReach, UnreachableDirError } from "../runas/reach.js";
import type { UserIds } from "../supervisor/proc.js";
import { setTimeout as sleep } from "node:timers/promises";
import { lchown, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../shared/log/logger.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import type { Assignment__Output } from "../../shared/gen/berth/v1/Assignment.js";
import type { InstanceStatus } from "../../shared/gen/berth/v1/InstanceStatus.js";
import { Coalescer } from "../../shared/coalesce.js";
import { clampDelayMs, setTimeoutClamped } from "../../shared/timer.js";
import { formatDurationMs } from "../../shared/duration.js";
import { monoMs, type Clock } from "../../shared/clock.js";
import { SERVICE_NAME } from "../../shared/spec/schema.js";
import { parseWireSpec } from "../../shared/spec/wire.js";
import { instanceEnv } from "../supervisor/env.js";
import type { InstanceVar } from "../../shared/spec/template.js";
import { InstanceFileError, readInstanceFile, removeInstanceFile, writeInstanceFile, type InstanceRecord } from "./instance-file.js";

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
  /** While it runs after quick exits in a row: how many, and when the run counts as stable (RunEvents.onRunning). */
  quick?(): { exits: number; stableAtMs: number } | undefined;
  resources(): { enforced: boolean; note: string };
  /** Stops the process group (stop signal, then SIGKILL after the stop timeout). */
  stop(): Promise<void>;
  /** Last lines / following of the service's output. */
  tail(lines: number): Promise<string>;
  follow(onData: (s: string) => void): OutputFollower;
  close(): void;
  /**
   * Self-fencing's lease (agent/supervisor/fence-lease.ts): the monotonic deadline
   * by which the controller must be heard from again, for the watchdog that stops
   * the process should this agent die. Present when the spec self-fences.
   */
  renewLease?(deadlineMono: number): void;
  /** Moves a process that runs on the service's behalf (an exec health check) into the running process's cgroup, where it has one. */
  enclose?(pid: number): void;
}

export interface Steps {
  /**
   * Who the spec runs as on this host (agent/runas/service-user.ts): creates the
   * per-service user on first use; RunAsError when this host will not run it as that user.
   */
  runAs(spec: ServiceSpec): Promise<RunAs>;
  /** Makes the artifact available unpacked, owned by `who`; returns its folder (null: no artifact). */
  fetch(spec: ServiceSpec, signal: AbortSignal, who?: RunAs): Promise<string | null>;
  /** Installs apt packages (as root) and runs the steps (as `who`) in `dir`; idempotent per artifact + install spec + user. */
  install(spec: ServiceSpec, dir: string, onOutput: (s: string) => void, signal: AbortSignal, who?: RunAs): Promise<void>;
  /**
   * Starts the process as `who`; `onExitFailed` when the restart policy gives up; `onRunning` each (re)start.
   * `leaseDeadlineMono`: a self-fencing spec's first fencing lease, written and watched (the watchdog
   * started) before the process is, so no moment passes in which this agent's death would leave it unfenced.
   */
  start(d: Desired, cwd: string, env: Record<string, string>, events: RunEvents, secretEnvFile?: string, who?: RunAs, leaseDeadlineMono?: number): Promise<RunHandle>;
  /** Re-attaches to the process a previous agent left running, if it is still that process. */
  adopt(d: Desired, events: RunEvents): Promise<RunHandle | undefined>;
  /** When `d`'s process was stopped by its fencing watchdog while no agent ran: why and when (wall ms), once. */
  fencedWhileAway?(d: Desired): { detail: string; atMs: number } | undefined;
  /**
   * Runs the health checks (exec checks as `who`, in the process's environment, each
   * handed to `enclose` once spawned); emits transitions. null check: healthy as soon as it runs.
   */
  health(spec: ServiceSpec, cwd: string, env: Record<string, string>, onChange: (healthy: boolean, detail: string) => void, who?: RunAs, enclose?: (pid: number) => void): { stop(): void };
  installLog(d: Desired): Promise<string>;
  /** The kept output of `service`'s instances that left this host, but `except`'s (its last `lines` lines each); undefined: none kept. */
  departedLogs?(service: string, except: string | undefined, lines: number): Promise<string | undefined>;
  /**
   * Finds every process the supervisor has a record of, other than `keep`'s,
   * and stops it: at start, what the agent cannot vouch for (its instance file
   * names another instance, or is damaged) must not run unsupervised.
   */
  stopOthers(keep: string | undefined): Promise<Stray[]>;
  /**
   * Removes the artifacts (and what was installed in them) that nothing here uses any
   * more, but for the few used last: those `inUse` stay. Never run alongside a fetch.
   * Also the logs of instances that left this host, but for the few written last:
   * `instance`'s (the one it runs) stay.
   */
  sweep?(inUse: string[], instance?: string): Promise<void>;
}

/** A process stopped by stopOthers: what its supervisor record said, and how it ended. */
export interface Stray {
  service: string;
  instance: string;
  epoch: number;
  revision: number;
  pid: number;
  /** How the stop went. */
  outcome: string;
}

/**
 * What a run tells the converger: each (re)start — after quick exits in a row, how many and
 * when the run will count as stable (wall clock; the supervisor's SupervisorState.quick) —
 * each exit it restarts after, and its verdict when the restart policy gives up.
 */
export interface RunEvents {
  onRunning(quick?: { exits: number; stableAtMs: number }): void;
  onFailed(reason: string): void;
  onRestart(reason: string): void;
}

interface Current {
  d: Desired;
  /** The process's working dir, once it is known (at start, or from the state file on re-adoption). */
  cwd?: string;
  run?: RunHandle;
  /** Who the process runs as, once known (runAs, at the start of a pass or a re-adoption). */
  who?: RunAs;
  /** The health checks, or (no health check) the wait until a run after quick exits counts as stable. */
  health?: { stop(): void };
  /** Why the process last exited on its own, for as long as the run after it is not yet stable. */
  lastExit?: string;
  state: InstanceState;
  detail: string;
  sinceMs: number;
  /** The monotonic clock at sinceMs: ages are measured on it. */
  sinceMono: number;
  installTail: string;
  /** The secret values this copy was started with: masked in what it reports (maskSecrets). */
  secrets?: SecretValues;
}

const TAIL_BYTES = 4096;
/** Install output is reported at most this often (and what came meanwhile, once it is over). */
const INSTALL_REPORT_MS = 500;
/** A crash-looped instance's detail ends with this many of its last output lines, at most this many characters (the detail is cut at 4000). */
const CRASH_TAIL_LINES = 20;
const CRASH_TAIL_CHARS = 2_000;
/** How long a crash loop's "failed" report waits for the process's last lines. */
const CRASH_TAIL_WAIT_MS = 250;

/**
 * Quick exits in a row from which a run with no health check is not healthy until it is
 * stable: one is a hiccup (an operator's kill, an OOM), put back in service at once as
 * Kubernetes does a container with no readiness probe; two in a row are a crash loop.
 */
export const CRASH_LOOP_EXITS = 2;

/** Tries of fetch + install before an instance is reported failed, and the first wait between them. */
export const PREPARE_ATTEMPTS = 3;
export const PREPARE_BACKOFF_MS = 1000;
/** How often the self-fencing condition is checked; part of the controller's margin. */
export const FENCE_CHECK_MS = 100;

export const desiredKey = (d: Pick<Desired, "instance" | "epoch" | "revision">): string => `${d.instance}@${d.epoch}r${d.revision}`;

/** An assignment this agent will not act on; `reportable` when its names are sound enough to report against. */
export class AssignmentError extends Error {
  constructor(
    message: string,
    readonly reportable: boolean,
  ) {
    super(message);
    this.name = "AssignmentError";
  }
}

/** The same rule as the supervisor's instance ids (agent/supervisor/state-file.ts), within InstanceStatus's 80. */
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/**
 * The controller's word, checked before anything acts on it (the boundary): null
 * for "run nothing here", a Desired, or AssignmentError saying what is wrong.
 */
export function parseAssignment(a: Assignment__Output): Desired | null {
  if (!a.service) return null;
  if (!SERVICE_NAME.test(a.service)) throw new AssignmentError(`service ${JSON.stringify(a.service.slice(0, 80))}: not a service name`, false);
  if (!INSTANCE_ID.test(a.instance)) throw new AssignmentError(`instance ${JSON.stringify(a.instance.slice(0, 100))}: not an instance id`, false);
  let spec: ServiceSpec;
  try {
    spec = parseWireSpec(a.spec_json);
  } catch (e) {
    throw new AssignmentError(`spec_json: ${e instanceof Error ? e.message : String(e)}`, true);
  }
  if (spec.name !== a.service) throw new AssignmentError(`spec_json: name: ${JSON.stringify(spec.name)} is not the assigned service ${a.service}`, true);
  return { service: a.service, instance: a.instance, epoch: a.epoch, revision: a.revision, spec };
}

/**
 * Self-fencing's rule, pure: stop when the controller has been silent longer than
 * the spec's stopAfterDisconnect. Both times are on the monotonic clock.
 */
export function fenceDue(limitMs: number, lastContactMono: number, nowMono: number): boolean {
  return limitMs > 0 && nowMono - lastContactMono > limitMs;
}

/** Writes and removes the instance record (<dataDir>/instance/current.json). */
export interface InstanceRecorder {
  write(file: string, r: InstanceRecord): Promise<void>;
  remove(file: string): Promise<void>;
}

const INSTANCE_FILE: InstanceRecorder = { write: writeInstanceFile, remove: removeInstanceFile };

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
      /** Wall clock, for the timestamps reported (since_ms). @default Date.now */
      now?: Clock;
      /** The monotonic clock, for every interval (fencing, ages, throttles). @default monoMs */
      mono?: Clock;
      /**
       * When the controller was last heard from, on the monotonic clock (`mono`);
       * enables self-fencing (failover.stopAfterDisconnect).
       */
      lastContactMs?: () => number;
      /** Where secret values go (agent/secrets/material.ts); absent: an assignment with secrets is refused. */
      secrets?: SecretMaterial;
      /** The instance record's writer (instance-file.ts); tests hold a write back. */
      record?: InstanceRecorder;
      /**
       * Runs a callback once the controller has read what was reported so far (AgentSession.readPast).
       * With it, a self-fenced stop (and what restore() stopped) is said again at each connect until
       * the controller has read it; without it, until the next assignment, which may arrive on a
       * stream that ends before the controller reads the report.
       */
      readPast?: (cb: () => void) => void;
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
  /** Set while the desired copy waits for an answer from the controller before it starts (pass()). */
  private holding = false;
  /**
   * The artifact sweep in progress (Steps.sweep), started once a pass is done with the
   * cache: the next fetch waits for it, so a sweep never removes what a pass is about
   * to use, and no pass waits for one before it stops the copy it replaces.
   */
  private sweeping: Promise<void> = Promise.resolve();

  /** Starts a sweep that keeps `inUse`'s artifact (if it has one) and logs; one at a time. */
  private sweep(inUse: Desired | undefined): void {
    const { steps } = this.o;
    if (!steps.sweep) return;
    const digest = inUse?.spec.artifact?.sha256;
    this.sweeping = this.sweeping.then(() =>
      steps.sweep?.(digest ? [digest] : [], inUse?.instance).catch((err: unknown) => {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, "removing unused artifacts or logs failed; the next change tries again");
      }),
    );
  }

  /** How long the controller has been quiet, when that is longer than `d`'s stopAfterDisconnect; else undefined. */
  private quietBeyond(d: Desired): number | undefined {
    const limit = d.spec.failover.stopAfterDisconnectMs;
    if (!this.o.lastContactMs) return undefined;
    const contact = this.o.lastContactMs();
    const nowMono = this.mono;
    return fenceDue(limit, contact, nowMono) ? nowMono - contact : undefined;
  }

  /**
   * The stream is gone: a copy held for an answer on it is dropped (not started on the
   * next stream's first answer, which may come before that stream's own assignment).
   */
  disconnected(): void {
    if (!this.holding) return;
    this.holding = false;
    this.desired = null;
  }

  /**
   * Self-fencing (DESIGN.md, "Epochs and fencing"): a service that asks for it is
   * stopped by the agent itself when the controller has been silent that long —
   * the controller waits at least as long (plus a margin) before it starts a
   * replacement, so at most one copy runs even across a partition.
   */
  private checkFence(): void {
    if (this.holding && (!this.desired || this.quietBeyond(this.desired) === undefined)) {
      this.holding = false;
      this.kick();
    }
    const c = this.current;
    const limit = c?.d.spec.failover.stopAfterDisconnectMs ?? 0;
    if (!c || limit <= 0 || this.fenced || c.state === "stopping" || c.state === "stopped") return;
    const contact = this.o.lastContactMs!();
    const nowMono = this.mono;
    if (!fenceDue(limit, contact, nowMono)) {
      // The same deadline as ours: should this agent die, the watchdog fences in its place.
      try {
        c.run?.renewLease?.(contact + limit);
      } catch (err) {
        this.o.log.warn({ instance: c.d.instance, err }, "renewing the fencing lease failed");
      }
      return;
    }
    const quiet = nowMono - contact;
    this.fenced = selfFencedDetail(quiet, limit);
    this.o.log.warn({ instance: c.d.instance, epoch: c.d.epoch, quietMs: quiet }, "self-fencing: stopping the instance");
    this.desired = null;
    this.abort?.abort();
    this.kick();
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  private get mono(): number {
    return (this.o.mono ?? monoMs)();
  }

  private get record(): InstanceRecorder {
    return this.o.record ?? INSTANCE_FILE;
  }

  private get stateFile(): string {
    return join(this.o.dataDir, "instance", "current.json");
  }

  /** Statuses of what restore() had to stop: re-sent on each connect until the next assignment. */
  private strays: InstanceStatus[] = [];
  /** An assignment refused at the boundary: its status, re-sent on each connect until the next one. */
  private refusal: InstanceStatus | undefined;
  /**
   * The copy this agent stopped by self-fencing: its "stopped" report, re-sent on each
   * connect until the next assignment. It is made while the controller is out of reach,
   * so it is usually lost; after a partition it is the controller's only word of why
   * the old copy is gone (`instance.self-fenced` in `berth events`).
   */
  private fencedStop: Current | undefined;

  /**
   * What the agent ran before it restarted: re-adopt it without restarting. For Hello.
   *
   * Never loses sight of a process: one the instance file names is re-adopted (if
   * it is still that process); any other the supervisor has a record of — also
   * every one when the instance file is damaged, so it cannot say which run is
   * meant — is stopped (it cannot be supervised or self-fenced without its spec)
   * and reported to the controller at the next connect.
   */
  async restore(): Promise<{ service: string; instance: string; epoch: number }[]> {
    let rec: Awaited<ReturnType<typeof readInstanceFile>>;
    let damaged: string | undefined;
    try {
      rec = await readInstanceFile(this.stateFile);
    } catch (e) {
      if (!(e instanceof InstanceFileError)) throw e;
      damaged = e.message;
      this.o.log.error({ err: e }, "the instance file is damaged: stopping every process it may have named");
      await this.record.remove(this.stateFile);
    }
    const restored: { service: string; instance: string; epoch: number }[] = [];
    if (rec) {
      const { cwd, ...d } = rec;
      // What this host would not start now it does not keep either (allowRoot turned off, say):
      // not adopted, so stopOthers below stops it.
      let who: RunAs | undefined;
      try {
        who = await this.o.steps.runAs(d.spec);
      } catch (e) {
        if (!(e instanceof RunAsError)) throw e;
        this.o.log.warn({ instance: d.instance, err: e.message }, "not re-adopting an instance this host refuses to run");
      }
      const run = who ? await this.o.steps.adopt(d, this.runEvents(d)) : undefined;
      if (run) {
        const t = this.clocks();
        this.current = { d, cwd, run, who, state: "starting", detail: "re-adopted after an agent restart", sinceMs: t.wall, sinceMono: t.mono, installTail: "" };
        this.startHealth(this.current, cwd);
        // With no check, running is healthy (after quick exits, once stable), as for a start: the
        // run was adopted before it was this.current, so its "running" reached nobody. It used to
        // stay "starting" until it exited — out of the endpoints after every agent restart.
        this.runEvents(d).onRunning(run.quick?.());
        this.o.log.info({ instance: d.instance, epoch: d.epoch, pid: run.pid() }, "re-adopted the running instance");
        restored.push({ service: d.service, instance: d.instance, epoch: d.epoch });
      } else {
        await this.record.remove(this.stateFile);
        // Stopped by its watchdog while no agent ran: said to the controller at each connect
        // until it has read it, as the agent's own fence is (fencedStop, reportNow).
        const fenced = this.o.steps.fencedWhileAway?.(d);
        if (fenced) {
          const t = this.clocks();
          this.strays.push({
            service: d.service,
            instance: d.instance,
            epoch: d.epoch,
            revision: d.revision,
            state: "stopped",
            detail: fenced.detail.slice(0, 4000),
            restarts: 0,
            since_ms: fenced.atMs,
            age_ms: Math.max(0, t.wall - fenced.atMs),
            pid: 0,
            resources_enforced: false,
            resources_note: "",
            install_tail: "",
          });
        }
      }
    }
    const why = damaged ? `its record on this host was damaged (${damaged})` : "no instance record on this host names it";
    for (const s of await this.o.steps.stopOthers(this.current?.d.instance)) {
      this.o.log.warn({ instance: s.instance, epoch: s.epoch, pid: s.pid, outcome: s.outcome }, "stopped a process the agent could not vouch for");
      // The controller accepts a status only under sound names; the log above keeps the rest.
      if (!SERVICE_NAME.test(s.service) || !INSTANCE_ID.test(s.instance)) continue;
      const t = this.clocks();
      this.strays.push({
        service: s.service,
        instance: s.instance,
        epoch: s.epoch,
        revision: s.revision,
        state: "stopped",
        detail: `stopped at agent start: ${why}; ${s.outcome}`.slice(0, 4000),
        restarts: 0,
        since_ms: t.wall,
        age_ms: 0,
        pid: s.pid,
        resources_enforced: false,
        resources_note: "",
        install_tail: "",
      });
    }
    // What an earlier agent left unused (a crash before its sweep, a keepArtifacts lowered).
    // The instance on record is kept even when it was not re-adopted (it died while no agent
    // ran): the controller is about to start it again, and its output says why it died.
    this.sweep(this.current?.d ?? rec);
    return restored;
  }

  private clocks(): { wall: number; mono: number } {
    return { wall: this.now, mono: this.mono };
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
  execContext(instance: string): { cwd: string; env: Record<string, string>; user: string; ids?: UserIds } | string {
    const c = this.current;
    if (!c || c.d.instance !== instance) return `${instance} does not run on this host`;
    if (!c.cwd || c.state === "stopping" || c.state === "stopped") return `${instance} is ${c.state} on this host: there is nothing to exec into`;
    // The ids (and HOME) the process has, not a second look-up that could differ from them.
    return { cwd: c.cwd, env: this.processEnv(c.d), user: c.who?.user ?? c.d.spec.run.user, ...(c.who?.ids ? { ids: c.who.ids } : {}) };
  }

  /** The newest assignment wins; a pass in progress is told to give up if it works on something else. */
  assign(a: Assignment__Output): void {
    // A word from the controller ends self-fencing: its assignment is the truth again.
    this.fenced = undefined;
    this.refusal = undefined;
    // What was stopped while fenced (or while no agent ran) is said until the controller has
    // read it (reportNow): the assignment can come on a stream that ends before it reads the
    // report, sent on the same connect. Without a way to know (no readPast), the assignment
    // is taken for it.
    if (!this.o.readPast) {
      this.strays = [];
      this.fencedStop = undefined;
    }
    let d: Desired | null;
    try {
      d = parseAssignment(a);
      this.desiredSecrets = d ? this.secretsOf(d, a) : new Map();
    } catch (e) {
      if (!(e instanceof AssignmentError)) throw e;
      this.refuse(a, e);
      // What runs here is not what the controller wants any more: stop it, as for any other change.
      d = null;
    }
    this.desired = d;
    if (this.current && (!d || desiredKey(d) !== desiredKey(this.current.d))) this.abort?.abort();
    this.kick();
  }

  /** The secret values of the newest assignment: in memory, and on tmpfs while its instance runs (never in a state file). */
  private desiredSecrets: SecretValues = new Map();

  private secretsOf(d: Desired, a: Assignment__Output): SecretValues {
    const uses = Object.keys(d.spec.secrets).length + Object.keys(d.spec.secretFiles).length > 0;
    if (uses && !this.o.secrets) throw new AssignmentError("this agent keeps no secrets (no secrets dir)", true);
    try {
      return secretValuesFor(d.spec, a.secrets ?? []);
    } catch (e) {
      if (e instanceof SecretMaterialError) throw new AssignmentError(e.message, true);
      throw e;
    }
  }

  /** Re-sends the current status (after a reconnect), and what restore() stopped or an assignment refused. */
  reportNow(): void {
    for (const s of this.strays) this.o.report(s);
    const stop = this.fencedStop;
    if (stop) this.report(stop);
    if (this.current) this.report(this.current);
    if (this.refusal && !this.current) this.o.report(this.refusal);
    this.forgetOnceRead([...this.strays], stop);
  }

  /**
   * A stop said until read is moot once the same instance runs here again: said after its
   * new copy's start, that old "stopped" would read as the new copy's (a false host.fenced,
   * a second self-fenced event). Done as the new copy becomes current (pass()); restore() never
   * re-adopts an instance it also keeps as a stray.
   */
  private supersede(): void {
    const running = this.current?.d.instance;
    if (running === undefined) return;
    if (this.fencedStop?.d.instance === running) this.fencedStop = undefined;
    this.strays = this.strays.filter((s) => s.instance !== running);
  }

  /**
   * Once the controller has read them (readPast), these are not said again at the next connect.
   * Read is: taken into its view of the host (what status shows, what it decides from); the event
   * it logs for a self-fenced stop is appended a moment later, and a store failing just then
   * loses that event (not the view).
   */
  private forgetOnceRead(strays: InstanceStatus[], stop: Current | undefined): void {
    if (!this.o.readPast || (strays.length === 0 && !stop)) return;
    this.o.readPast(() => {
      if (stop && this.fencedStop === stop) this.fencedStop = undefined;
      this.strays = this.strays.filter((s) => !strays.includes(s));
    });
  }

  /**
   * A malformed assignment: said to the controller as that instance's failure
   * (berth status shows the reason), never thrown into the stream's listener.
   */
  private refuse(a: Assignment__Output, e: AssignmentError): void {
    this.o.log.error({ service: a.service.slice(0, 80), instance: a.instance.slice(0, 100), epoch: a.epoch, err: e.message }, "refused a malformed assignment");
    if (!e.reportable) return; // no name to report it under that the controller would accept
    const t = this.clocks();
    this.refusal = {
      service: a.service,
      instance: a.instance,
      epoch: a.epoch,
      revision: a.revision,
      state: "failed",
      detail: `assignment refused by the agent: ${e.message}`.slice(0, 4000),
      restarts: 0,
      since_ms: t.wall,
      age_ms: 0,
      pid: 0,
      resources_enforced: false,
      resources_note: "",
      install_tail: "",
    };
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
    await this.sweeping;
    this.current?.health?.stop();
    if (o.stopService) {
      // Said first, while the session still carries it: the controller takes the copy out of the
      // endpoints now, not a TTL later when it judges the host (the caller stops the session after).
      if (this.current) this.set(this.current, "stopping", "the agent is stopping, and its service with it");
      await this.current?.run?.stop();
      await this.record.remove(this.stateFile);
      if (this.current) await this.o.secrets?.remove(this.current.d.instance, this.current.d.spec);
    } else this.current?.run?.close();
  }

  /** `berth logs SERVICE --host H` where none of its instances runs now: what H kept of those that left it. */
  async departedLogs(service: string, tail: number, onData: (s: string) => void): Promise<undefined> {
    if (!SERVICE_NAME.test(service)) {
      onData(`[berth: not a service name: ${JSON.stringify(service.slice(0, 80))}]\n`);
      return undefined;
    }
    const kept = await this.o.steps.departedLogs?.(service, this.current?.d.instance, tail);
    onData(kept ?? `[berth: no instance of ${service} runs on this host, and none that left it has output kept here]\n`);
    return undefined;
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

  /** The instance's environment: run.env with its ${BERTH_*} references expanded, then BERTH_*. */
  private env(d: Desired): Record<string, string> {
    return instanceEnv(d.spec.run.env, {
      BERTH_SERVICE: d.service,
      BERTH_INSTANCE: d.instance,
      BERTH_EPOCH: String(d.epoch),
      BERTH_VERSION: String(d.revision),
      BERTH_ADVERTISE_ADDR: this.o.advertiseAddr(),
      // The names apply-time checks accept (shared/spec/template.ts): exactly these.
    } satisfies Record<InstanceVar, string>);
  }

  /**
   * What the process itself sees of its environment, secrets included (read back from
   * the file its launches read): for exec health checks and `berth exec --service`.
   */
  private processEnv(d: Desired): Record<string, string> {
    let secret: Record<string, string> = {};
    if (this.o.secrets && Object.keys(d.spec.secrets).length > 0) {
      try {
        secret = readSecretEnv(this.o.secrets.envFile(d.instance));
      } catch (err) {
        // Not written yet, or gone with a reboot's tmpfs: the start writes it again.
        this.o.log.warn({ instance: d.instance, err: err instanceof Error ? err.message : String(err) }, "the secret environment cannot be read");
      }
    }
    return { ...secret, ...this.env(d) };
  }

  /** Moves to `state` and reports it; false (nothing sent) when that is where it stands. */
  private set(c: Current, state: InstanceState, detail = ""): boolean {
    if (c.state === state && c.detail === detail) return false;
    c.state = state;
    c.detail = detail;
    const t = this.clocks();
    c.sinceMs = t.wall;
    c.sinceMono = t.mono;
    this.report(c);
    return true;
  }

  private report(c: Current): void {
    const r = c.run?.resources() ?? { enforced: false, note: "" };
    // Both: the values this copy runs with, and the newest assignment's (a re-adopted copy's, or a copy about to be replaced).
    const mask = (text: string): string => maskSecrets(text, [...(c.secrets?.values() ?? []), ...this.desiredSecrets.values()]);
    this.o.report({
      service: c.d.service,
      instance: c.d.instance,
      epoch: c.d.epoch,
      revision: c.d.revision,
      state: c.state,
      detail: mask(c.detail).slice(0, 4000),
      restarts: c.run?.restarts() ?? 0,
      since_ms: c.sinceMs,
      age_ms: Math.max(0, Math.round(this.mono - c.sinceMono)),
      pid: c.run?.pid() ?? 0,
      resources_enforced: r.enforced,
      resources_note: r.note,
      install_tail: mask(c.installTail).slice(-TAIL_BYTES),
    });
  }

  private runEvents(d: Desired): RunEvents {
    const mine = (): Current | undefined => (this.current && desiredKey(this.current.d) === desiredKey(d) ? this.current : undefined);
    return {
      onRunning: (quick) => {
        const c = mine();
        if (!c || c.d.spec.health || !(c.state === "starting" || c.state === "unhealthy")) return;
        const waitMs = quick && quick.exits >= CRASH_LOOP_EXITS ? quick.stableAtMs - this.clocks().wall : 0;
        if (waitMs <= 0) {
          this.set(c, "healthy", "running (no health check)");
          return;
        }
        // With no check, running is the only sign of health, and in a crash loop it is no
        // sign yet: a process that lasts 2 s of every 30 would show healthy, and be put in
        // service, between its crashes. Healthy once the run outlives the restart policy's
        // quick-exit window (its failure count starts again from 0 then), or failed by it.
        const stable = formatDurationMs(Math.ceil(waitMs / 1000) * 1000);
        this.set(c, "starting", `running again after ${c.lastExit ?? "exiting"}; healthy once it has run ${stable} more without exiting (no health check to say so sooner)`);
        const timer = setTimeoutClamped(() => {
          if (this.current !== c || c.health !== wait || c.state !== "starting") return;
          c.health = undefined;
          c.lastExit = undefined;
          this.set(c, "healthy", "running (no health check)");
        }, waitMs);
        const wait = { stop: (): void => clearTimeout(timer) };
        c.health = wait;
      },
      onRestart: (reason) => {
        const c = mine();
        if (c) {
          if (!c.d.spec.health) {
            // A run after quick exits that exits too: its wait for stability ends with it.
            c.health?.stop();
            c.health = undefined;
            c.lastExit = reason;
          }
          // How it exited (code or signal, failure n of m) is what tells a crash loop from a slow start.
          // The state may stand already: the restart count is news either way.
          if (!this.set(c, c.d.spec.health ? "unhealthy" : "starting", `${reason}; restarting with backoff`)) this.report(c);
        }
      },
      onFailed: (reason) => {
        const c = mine();
        if (!c) return;
        c.health?.stop();
        // As kubectl shows a CrashLoopBackOff: the exit, then the last lines the process wrote.
        // They go with the first "failed" report, which the controller keeps (it places the slot
        // again at once), unless reading them takes longer than CRASH_TAIL_WAIT_MS: a slow disk
        // never holds the verdict longer, and the lines follow when they come.
        const head = `crash loop: ${reason}`;
        const withTail = (out: string): string => {
          const lines = out.trimEnd().slice(-CRASH_TAIL_CHARS);
          return lines ? `${head}\nlast output:\n${lines}` : head;
        };
        let reported = false;
        const late = setTimeout(() => {
          reported = true;
          if (this.current === c) this.set(c, "failed", head);
        }, CRASH_TAIL_WAIT_MS);
        const tail = c.run?.tail(CRASH_TAIL_LINES) ?? Promise.resolve("");
        void tail
          .catch((err: unknown) => {
            this.o.log.warn({ instance: c.d.instance, err: err instanceof Error ? err.message : String(err) }, "cannot read the output of a failed process");
            return "";
          })
          .then((out) => {
            clearTimeout(late);
            if (this.current !== c) return;
            if (!reported) this.set(c, "failed", withTail(out));
            else if (c.state === "failed" && c.detail === head) this.set(c, "failed", withTail(out));
            reported = true;
          });
      },
    };
  }

  private startHealth(c: Current, cwd: string): void {
    // No check: nothing to start, and c.health may hold a crash loop's wait for stability (runEvents).
    if (!c.d.spec.health) return;
    c.health = this.o.steps.health(
      c.d.spec,
      cwd,
      this.processEnv(c.d),
      (healthy, detail) => {
        if (this.current !== c || c.state === "failed" || c.state === "stopping") return;
        this.set(c, healthy ? "healthy" : "unhealthy", detail);
      },
      c.who,
      // The run of the moment: a restart after a crash is a new cgroup, the handle the same.
      (pid) => c.run?.enclose?.(pid),
    );
  }

  /**
   * Who the instance runs as, its artifact fetched and unpacked, its install done
   * (reported as fetching, installing): its working dir and user, or undefined when
   * this host refuses to run it as that user (reported failed). Throws what fails.
   */
  private async prepare(c: Current, signal: AbortSignal): Promise<{ who: RunAs; cwd: string } | undefined> {
    const want = c.d;
    // Who it runs as, first: a host that will not run it as that user says so before fetching anything.
    try {
      c.who = await this.o.steps.runAs(want.spec);
    } catch (e) {
      if (!(e instanceof RunAsError)) throw e;
      this.o.log.warn({ instance: want.instance, err: e.message }, "refused to run the instance as its user");
      this.set(c, "failed", `refused by the agent: ${e.message}`);
      return undefined;
    }
    const who = c.who;
    // Fetching and installing meet passing trouble (a controller restarting
    // mid-download, a mirror hiccup): a few tries with backoff before the
    // instance is reported failed and placed elsewhere.
    let dir: string | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        this.set(c, "fetching", attempt > 1 ? `attempt ${attempt} of ${PREPARE_ATTEMPTS}` : "");
        dir = await this.o.steps.fetch(want.spec, signal, who);
        signal.throwIfAborted();
        if (dir === null) {
          // No artifact: the instance's own folder, the user's like an artifact's copy. The folder
          // itself only: what is in it is the service's own, written by it — walking it as root
          // would follow any link the service put there (`escape -> /etc`) and hand over what it names.
          dir = this.workDir(want);
          await mkdir(dir, { recursive: true });
          if (who.ids) await lchown(dir, who.ids.uid, who.ids.gid);
        }
        // Its user must reach the folder, or the process (and its install steps) fail in their own words.
        if (who.ids) await checkReach(dir, { user: who.user, uid: who.ids.uid, gid: who.ids.gid });
        this.set(c, "installing", attempt > 1 ? `attempt ${attempt} of ${PREPARE_ATTEMPTS}` : "");
        let lastReport = 0;
        // Install output streams to the controller at most twice a second, and what came
        // within that half second goes when it is over: a step that prints a line, then works
        // quietly for minutes, shows that line in `berth status`, not only the header.
        let trailing: NodeJS.Timeout | undefined;
        const flush = (): void => {
          trailing = undefined;
          lastReport = this.mono;
          if (this.current === c && c.state === "installing") this.report(c);
        };
        try {
          await this.o.steps.install(
            want.spec,
            dir,
            (s) => {
              c.installTail = (c.installTail + s).slice(-TAIL_BYTES);
              const wait = INSTALL_REPORT_MS - (this.mono - lastReport);
              if (wait <= 0) {
                clearTimeout(trailing);
                flush();
              } else trailing ??= setTimeoutClamped(flush, wait);
            },
            signal,
            who,
          );
        } finally {
          clearTimeout(trailing);
        }
        signal.throwIfAborted();
        break;
      } catch (err) {
        // A folder's mode does not change by waiting: no retry.
        if (signal.aborted || attempt >= PREPARE_ATTEMPTS || err instanceof UnreachableDirError) throw err;
        const delay = PREPARE_BACKOFF_MS * 2 ** (attempt - 1);
        this.o.log.warn({ instance: want.instance, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, `${c.state} failed; retrying`);
        await sleep(clampDelayMs(delay), undefined, { signal }).catch(() => undefined);
        signal.throwIfAborted();
      }
    }
    return { who, cwd: dir ?? this.workDir(want) };
  }

  private async pass(): Promise<void> {
    const want = this.desired;
    if (want === undefined) return; // no assignment received yet: keep what runs (re-adopted)
    const cur = this.current;
    // What the copy being replaced was prepared with, when the new one needs the same.
    const prepared = cur && want && cur.cwd !== undefined && cur.who !== undefined && samePreparation(cur.d, want) ? { cwd: cur.cwd, who: cur.who } : undefined;
    if (cur && (!want || desiredKey(want) !== desiredKey(cur.d))) {
      const why = this.fenced ?? "";
      this.set(cur, "stopping", why);
      cur.health?.stop();
      await cur.run?.stop();
      this.set(cur, "stopped", why);
      if (this.fenced) {
        this.fencedStop = cur;
        // Said just now, if a stream was up (a stalled controller rather than a lost link).
        this.forgetOnceRead([], cur);
      }
      this.current = undefined;
      // A replacement's record replaces this one (atomically) as it starts: removing it
      // first would only add a step between the old process's stop and the new one's start.
      if (!want) await this.record.remove(this.stateFile);
      await this.o.secrets?.remove(cur.d.instance, cur.d.spec);
      this.o.log.info({ instance: cur.d.instance, epoch: cur.d.epoch }, "instance stopped");
    }
    if (!want) {
      // Said after the old instance's "stopped", so the controller is left with the refusal.
      if (this.refusal) this.o.report(this.refusal);
      if (cur) this.sweep(undefined);
      return;
    }
    if (this.current) return;
    // Given a copy while the controller's last answer is already older than its stopAfterDisconnect (a Welcome
    // on a connection that stalled, an assignment sent again before a heartbeat is answered): started once
    // one is answered (checkFence), not now only to be fenced at once.
    const quiet = this.quietBeyond(want);
    const t0 = this.clocks();
    const c: Current = { d: want, state: "pending", detail: "", sinceMs: t0.wall, sinceMono: t0.mono, installTail: "" };
    if (quiet !== undefined) {
      this.holding = true;
      c.detail = `waiting for word from the controller: last heard ${(quiet / 1000).toFixed(1)}s ago (stopAfterDisconnect ${want.spec.failover.stopAfterDisconnectMs / 1000}s)`;
      this.report(c);
      return;
    }

    const wantSecrets = this.desiredSecrets;
    c.secrets = wantSecrets;
    this.current = c;
    this.supersede();
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.report(c);
    /** The instance record's write, once begun: settled before the pass ends, whatever happens. */
    let recorded: Promise<unknown> | undefined;
    try {
      let who: RunAs;
      let cwd: string;
      if (prepared) {
        // A restart, or a change of env, args or health only: the same user, artifact and
        // install as the copy just stopped, which ran from that folder until now. Looking
        // them up and checking them again would only add work (and two reports) between
        // the old process's stop and the new one's start, on every step of a rollout.
        who = c.who = prepared.who;
        cwd = prepared.cwd;
      } else {
        await this.sweeping;
        const p = await this.prepare(c, signal);
        if (p === undefined) return;
        ({ who, cwd } = p);
      }
      c.cwd = cwd;
      this.set(c, "starting");
      // The record lets a restarted agent re-adopt what this one started. It is written
      // alongside the start, not before it: its fsyncs would sit between the old
      // process's stop and the new one's start, on every step of a rollout. Should the
      // agent die before the write lands, the process is never lost: its supervisor
      // record (written right after spawn) names it, and restore() stops a process
      // that the instance record does not vouch for; the assignment starts it again.
      recorded = this.record.write(this.stateFile, { ...want, cwd }).then(
        () => undefined,
        (e: unknown) => e ?? new Error("the instance record could not be written"),
      );
      // The assignment may have been withdrawn (fencing, a move) while we prepared.
      signal.throwIfAborted();
      let secretEnvFile = "";
      if (this.o.secrets && Object.keys(want.spec.secrets).length + Object.keys(want.spec.secretFiles).length > 0) {
        // Files owned by the user the process runs as (mode 0400); the environment stays the agent's.
        secretEnvFile = await this.o.secrets.write(want.instance, want.spec, wantSecrets, who.ids);
      }
      // Self-fencing: the lease from the contact the controller's own wait counts from, in place
      // before the process starts (the first fence check would come up to FENCE_CHECK_MS later).
      const limit = want.spec.failover.stopAfterDisconnectMs;
      const leaseAt = limit > 0 && this.o.lastContactMs ? this.o.lastContactMs() + limit : undefined;
      c.run = await this.o.steps.start(want, cwd, this.env(want), this.runEvents(want), secretEnvFile, who, leaseAt);
      const unrecorded = await recorded;
      if (unrecorded !== undefined) {
        // A process no record names would be stopped by the next agent anyway: not kept.
        await c.run.stop();
        c.run = undefined;
        throw unrecorded;
      }
      this.report(c);
      if (this.current === c && c.state !== "failed") this.startHealth(c, cwd);
      // A new artifact in use: what the one before leaves may go (a restart's is the same).
      if (!prepared) this.sweep(want);
    } catch (err) {
      // No write may land after this pass: the next one may remove or rewrite the record.
      await recorded;
      if (signal.aborted) {
        await c.run?.stop();
        await this.o.secrets?.remove(want.instance, want.spec);
        // Fenced while preparing: said, so the controller does not wait on a copy that stays "installing".
        if (this.fenced !== undefined) {
          this.set(c, "stopped", this.fenced);
          this.fencedStop = c;
          this.forgetOnceRead([], c);
        }
        this.current = undefined;
        if (this.closing) return; // the agent stops: what was not started stays unstarted
        this.o.log.info({ instance: want.instance }, "assignment changed while preparing; starting over");
        this.runner.requeue();
        return;
      }
      const msg = err instanceof Error ? err.message : String(err);
      this.o.log.warn({ instance: want.instance, err: msg, state: c.state }, "instance failed");
      // An unreachable working dir says all there is to say; anything else, with the step it happened in.
      this.set(c, "failed", err instanceof UnreachableDirError ? msg : `${c.state}: ${msg}`);
    }
  }
}

/**
 * The new copy is prepared exactly as the old one was: the same instance (an
 * artifact-less one's folder is its own), artifact, install, and user — what runAs,
 * fetch and install depend on.
 */
export function samePreparation(a: Desired, b: Desired): boolean {
  return (
    a.instance === b.instance &&
    a.service === b.service &&
    a.spec.run.user === b.spec.run.user &&
    JSON.stringify(a.spec.artifact) === JSON.stringify(b.spec.artifact) &&
    JSON.stringify(a.spec.install) === JSON.stringify(b.spec.install)
  );
}

function lastLines(s: string, n: number): string {
  const lines = s.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.slice(-n).join("\n") + (lines.length ? "\n" : "");
}
