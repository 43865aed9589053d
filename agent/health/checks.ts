/**
 * Health checks: one check run (runCheck), and checks run on an interval with
 * thresholds (HealthMonitor). A check never throws: every outcome — refused,
 * timed out, wrong status, non-zero exit — is a result with a detail an operator
 * can act on, because "unhealthy" without a why sends someone to ssh into the host.
 *
 * Checks go to the host's advertise address, not localhost (DESIGN.md): that is
 * where clients reach the service, and dev mode runs several hosts on 127.0.0.x.
 */
import { monoMs } from "../../shared/clock.js";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import http from "node:http";
import net from "node:net";
import type { HealthCheck, HealthSpec } from "../../shared/spec/types.js";
import { setTimeoutClamped } from "../../shared/timer.js";
import {
  countResult,
  initialCount,
  type CheckResult,
  type HealthCount,
  type HealthStatus,
  type HealthTransition,
} from "./thresholds.js";

export type { CheckResult, HealthStatus, HealthTransition };

export interface CheckOptions {
  /** exec: working directory (the unpacked artifact). */
  cwd?: string;
  /** exec: the environment, as the service gets it. @default the agent's */
  env?: Record<string, string>;
  /** exec: run as the service's user (needs root). */
  uid?: number;
  gid?: number;
  /**
   * exec: called with the check's pid once it is spawned, to move it (and what it
   * forks) where the service's processes are, its cgroup: its CPU and memory count
   * toward the service's limits, and the service's stop ends what it leaves behind.
   */
  enclose?: (pid: number) => void;
  /** Cancels the check; it then resolves as failed with detail "cancelled". */
  signal?: AbortSignal;
}

/** What an exec check's detail keeps of its output: the end, where the error usually is. */
export const EXEC_OUTPUT_TAIL_BYTES = 512;

/** Runs one check against `host`; settles within timeoutMs (and a moment), never rejects. */
export function runCheck(check: HealthCheck, host: string, timeoutMs: number, opts: CheckOptions = {}): Promise<CheckResult> {
  switch (check.kind) {
    case "http":
      return httpCheck(host, check.port, check.path, check.status, timeoutMs, opts.signal);
    case "tcp":
      return tcpCheck(host, check.port, timeoutMs, opts.signal);
    case "exec":
      return execCheck(check.command, timeoutMs, opts);
    default:
      return assertNever(check);
  }
}

/**
 * Shared plumbing: settle once, with whichever comes first of the check's own
 * answer, the timeout and the abort; then let the check release what it holds.
 */
function bounded(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  timeoutDetail: () => string,
  run: (finish: (r: CheckResult) => void) => () => void,
): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false;
    let release: () => void = () => undefined;
    const finish = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      release();
      resolve(r);
    };
    const onAbort = (): void => finish({ ok: false, detail: "cancelled" });
    const timer = setTimeoutClamped(() => finish({ ok: false, detail: timeoutDetail() }), timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort);
    release = run(finish);
    if (settled) release();
  });
}

/** What a request line may carry unescaped; anything else is shown quoted, so a detail never carries a terminal escape. */
const PLAIN_PATH = /^[\x21-\x7e]*$/;

function httpCheck(host: string, port: number, path: string, status: number, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const what = `GET ${PLAIN_PATH.test(path) ? path : JSON.stringify(path)}`;
  return bounded(timeoutMs, signal, () => `${what}: no answer within ${timeoutMs} ms`, (finish) => {
    let req: http.ClientRequest;
    try {
      // agent: false — a fresh connection per check; a pooled one could hide a listener that stopped accepting.
      req = http.get({ host, port, path, agent: false, headers: { "user-agent": "berth-agent" } }, (res) => {
        res.resume();
        finish({ ok: res.statusCode === status, detail: `${what} → ${res.statusCode ?? "?"}` });
      });
    } catch (e) {
      // Node refuses some paths outright (control characters, spaces); the spec refuses
      // them too, but a record stored before it did may still hold one.
      finish({ ok: false, detail: `${what}: ${e instanceof Error ? e.message : String(e)}` });
      return () => undefined;
    }
    req.on("error", (e: NodeJS.ErrnoException) => finish({ ok: false, detail: `${what}: ${e.message}`, ...(e.code === "ECONNREFUSED" ? { refused: true } : {}) }));
    return () => req.destroy();
  });
}

function tcpCheck(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const where = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return bounded(timeoutMs, signal, () => `no connection to ${where} within ${timeoutMs} ms`, (finish) => {
    const sock = net.connect({ host, port });
    sock.on("connect", () => finish({ ok: true, detail: `connected to ${where}` }));
    sock.on("error", (e: NodeJS.ErrnoException) => finish({ ok: false, detail: e.message, ...(e.code === "ECONNREFUSED" ? { refused: true } : {}) }));
    return () => sock.destroy();
  });
}

function execCheck(command: string[], timeoutMs: number, opts: CheckOptions): Promise<CheckResult> {
  const [file, ...args] = command;
  if (file === undefined) return Promise.resolve({ ok: false, detail: "exec check has no command" });
  let output = Buffer.alloc(0);
  const keep = (chunk: Buffer): void => {
    output = Buffer.concat([output, chunk]);
    if (output.length > EXEC_OUTPUT_TAIL_BYTES * 2) output = output.subarray(output.length - EXEC_OUTPUT_TAIL_BYTES);
  };
  const tail = (): string => {
    const text = output.subarray(Math.max(0, output.length - EXEC_OUTPUT_TAIL_BYTES)).toString("utf8").trim();
    return text === "" ? "" : `: ${text}`;
  };
  let pid: number | undefined;
  return bounded(timeoutMs, opts.signal, () => `timed out after ${timeoutMs} ms${tail()}`, (finish) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      // Its own process group, so a timeout kills the check's children too.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    pid = child.pid;
    if (pid !== undefined) {
      try {
        opts.enclose?.(pid);
      } catch {
        // Where the check runs is no reason for it to fail: it runs where it was born.
      }
    }
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (e) => finish({ ok: false, detail: `cannot run ${file}: ${e.message}` }));
    // 'close', not 'exit': the output is complete only when the pipes are.
    child.on("close", (code, sig) => {
      const how = sig ? `killed by ${sig}` : `exit ${code ?? "?"}`;
      finish({ ok: code === 0, detail: `${how}${tail()}` });
    });
    return () => {
      // After a timeout or abort the check may still run; after a normal end its group may linger.
      if (pid !== undefined) {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // already gone: the usual case
        }
      }
    };
  });
}

export interface HealthMonitorOptions {
  spec: HealthSpec;
  /** The host's advertise address. */
  host: string;
  /** For exec checks; see CheckOptions. */
  cwd?: string;
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
  enclose?: (pid: number) => void;
  /** For sinceMs. @default Date.now */
  now?: () => number;
  /** Runs one check. @default runCheck */
  check?: typeof runCheck;
}

export interface HealthMonitorEvents {
  /** The status changed: a threshold was reached. */
  transition: [HealthTransition];
  /** Every finished check, for debugging and `berth status -v`. */
  result: [CheckResult & { atMs: number }];
}

/**
 * While no check has passed yet and the check's port refuses connections
 * (the process is still starting), the port is tried this often once the watch
 * has gone on for PORT_WATCH_FAST_FOR_MS (more often before: PORT_WATCH_FAST_MS),
 * and the next check runs as soon as it accepts. @default 10
 */
export const PORT_WATCH_MS = 10;
/**
 * For the first PORT_WATCH_FAST_FOR_MS of a watch, the port is tried every
 * PORT_WATCH_FAST_MS instead: most services that open a port at all open it within
 * a second, and each beat of the watch is paid once per instance of a rolling
 * restart (half a beat on average). A refused connect on the host's own address is
 * a few tens of microseconds of the agent's CPU: ≤ 500 of them per start.
 * @default 2, for 1000 ms
 */
export const PORT_WATCH_FAST_MS = 2;
export const PORT_WATCH_FAST_FOR_MS = 1_000;

/** The watch's beat, `watchedMs` after it began. */
export function portWatchBeatMs(watchedMs: number): number {
  return watchedMs < PORT_WATCH_FAST_FOR_MS ? PORT_WATCH_FAST_MS : PORT_WATCH_MS;
}

/**
 * Runs the spec's check every intervalMs (the first at once), never two at a
 * time: a check slower than the interval delays the next rather than piling up.
 * Emits "transition" only when a threshold is reached (see thresholds.ts).
 *
 * A copy that has just started usually refuses the first check: its port is not
 * open yet. Until a check first passes, a refused http or tcp check makes the monitor
 * watch the port (a bare connect every few ms: portWatchBeatMs; counted nowhere) and run the
 * next check the moment it opens, rather than up to a whole interval later: in a
 * rolling restart that wait was paid once per instance, half an interval on average.
 * The checks themselves, and what they count toward the thresholds, are unchanged.
 */
export class HealthMonitor extends EventEmitter<HealthMonitorEvents> {
  private count: HealthCount;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private abort: AbortController | undefined;
  /** The port watch between a refused check and the next (see portWatchBeatMs). */
  private watchTimer: NodeJS.Timeout | undefined;
  private watchSock: net.Socket | undefined;
  /** When the port watch first began (monotonic): its beat slows after PORT_WATCH_FAST_FOR_MS. */
  private watchSinceMono: number | undefined;
  /** A check has passed: the start is over, and the port is not watched any more. */
  private answered = false;
  private stopped = false;
  private readonly now: () => number;
  private readonly check: typeof runCheck;

  constructor(private readonly opts: HealthMonitorOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.check = opts.check ?? runCheck;
    this.count = initialCount(this.now());
  }

  get status(): HealthStatus {
    return this.count.status;
  }

  /** The whole count: status, since when, and the current run of successes or failures. */
  get current(): Readonly<HealthCount> {
    return this.count;
  }

  start(): void {
    if (this.inFlight || this.timer || this.stopped) return;
    this.tick();
  }

  /** No more checks; a check in flight is cancelled and awaited, its result dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unwatch();
    this.abort?.abort();
    await this.inFlight;
  }

  private tick(): void {
    this.unwatch();
    const { spec, host, cwd, env, uid, gid, enclose } = this.opts;
    // Paced on the monotonic clock: a wall clock stepped back must not stall the checks.
    const startedMs = monoMs();
    this.abort = new AbortController();
    this.inFlight = this.check(spec.check, host, spec.timeoutMs, { cwd, env, uid, gid, enclose, signal: this.abort.signal }).then(
      (result) => {
        this.inFlight = undefined;
        if (this.stopped) return;
        const atMs = this.now();
        const next = countResult(this.count, result, atMs, spec);
        this.count = next.count;
        this.emit("result", { ...result, atMs });
        if (next.transition) this.emit("transition", next.transition);
        // The interval runs from the start of one check to the start of the next.
        // Clamped: an interval past Node's timer range (a record stored before intervals were bounded) would run every millisecond.
        const waitMs = spec.intervalMs - (monoMs() - startedMs);
        this.timer = setTimeoutClamped(() => this.tick(), waitMs);
        const port = spec.check.kind === "exec" ? undefined : spec.check.port;
        if (result.ok) this.answered = true;
        if (result.refused && !this.answered && port !== undefined && waitMs > PORT_WATCH_FAST_MS) this.watchPort(port);
      },
    );
  }

  /** Tries the port every portWatchBeatMs until it accepts (then the next check runs at once) or the next check is due. */
  private watchPort(port: number): void {
    this.watchSinceMono ??= monoMs();
    const since = this.watchSinceMono;
    const beat = (): number => portWatchBeatMs(monoMs() - since);
    const attempt = (): void => {
      this.watchTimer = undefined;
      if (this.stopped || this.inFlight) return;
      const sock = net.connect({ host: this.opts.host, port });
      this.watchSock = sock;
      const settle = (open: boolean): void => {
        sock.destroy();
        if (this.watchSock !== sock) return; // unwatched meanwhile: the check ran, or stop()
        this.watchSock = undefined;
        if (this.stopped || this.inFlight) return;
        if (!open) {
          this.watchTimer = setTimeoutClamped(attempt, beat());
          return;
        }
        clearTimeout(this.timer);
        this.tick();
      };
      sock.once("connect", () => settle(true));
      sock.once("error", () => settle(false));
    };
    this.watchTimer = setTimeoutClamped(attempt, beat());
  }

  private unwatch(): void {
    clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
    const sock = this.watchSock;
    this.watchSock = undefined;
    sock?.destroy();
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected health check ${JSON.stringify(x)}`);
}
