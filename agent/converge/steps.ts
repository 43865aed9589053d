/**
 * The converger's steps, bound to the real modules: artifact cache (fetch from
 * the controller by digest, or from a URL), installer (apt + steps), supervisor
 * (process group, logs, restarts, cgroups, re-adoption) and health monitor.
 */
import { StringDecoder } from "node:string_decoder";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../shared/log/logger.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import { ArtifactCache } from "../artifacts/cache.js";
import { forgetInstalls, install, installKey, installLogPath } from "../installer/installer.js";
import { Supervisor, type SupervisorState } from "../supervisor/supervisor.js";
import { joinCgroupAsync } from "../supervisor/cgroup.js";
import { readProcStat } from "../supervisor/proc.js";
import { DEFAULT_KEEP_LOGS, departedOutput, sweepLogs } from "../logs/sweep.js";
import { HealthMonitor } from "../health/checks.js";
import { serviceUser, type RunAs } from "../runas/service-user.js";
import { ensureWatchdog, leaseFiles, removeLease, takeFencedMark, writeLease } from "../supervisor/fence-lease.js";
import { expandArgs, serviceEnv } from "../supervisor/env.js";
import type { Desired, RunEvents, RunHandle, Steps, Stray } from "./converger.js";

export interface StepsDeps {
  dataDir: string;
  log: Logger;
  advertiseAddr: () => string;
  /** Streams a stored artifact from the controller. */
  fetchStored: (sha256: string, signal: AbortSignal) => AsyncIterable<Uint8Array>;
  /** agent.yaml's allowRoot: services may run as root here (shared/spec/run-as.ts). @default false */
  allowRoot?: boolean;
  /** Who a spec runs as. @default serviceUser (agent/runas/service-user.ts): tests swap it, so they create no system user. */
  runAs?: (spec: ServiceSpec) => Promise<RunAs>;
  /** Told how each install went and how long it took (for /metrics). */
  onInstall?: (o: { outcome: "installed" | "skipped" | "failed"; seconds: number }) => void;
  /** Artifacts kept besides the one in use, the most recently used (agent.yaml keepArtifacts). @default DEFAULT_KEEP_ARTIFACTS */
  keepArtifacts?: number;
  /** Departed instances whose logs are kept, the most recently written (agent.yaml keepLogs). @default DEFAULT_KEEP_LOGS */
  keepLogs?: number;
  /** Told the digests the cache holds after a sweep removed some (the agent reports them in its Hello). */
  onSwept?: (held: string[]) => void;
}

/** Artifacts an agent keeps besides the one it runs: enough for `berth rollout undo` twice without a download. */
export const DEFAULT_KEEP_ARTIFACTS = 2;

/** Identifies what a process was started for, so an adopted one is checked against the assignment. */
export const specHash = (d: Desired): string => createHash("sha256").update(JSON.stringify([d.instance, d.epoch, d.revision, d.spec])).digest("hex");

export function realSteps(deps: StepsDeps): Steps & { cache: ArtifactCache } {
  const cache = new ArtifactCache(join(deps.dataDir, "artifacts"));
  const stateDir = join(deps.dataDir, "install");
  const logDir = join(deps.dataDir, "logs");
  const recordDir = join(deps.dataDir, "instance");
  const RECORD = ".process.json";
  const stateFile = (d: Desired): string => join(recordDir, `${d.instance}${RECORD}`);

  /** The cgroups an exec check could not be moved into: said once each. */
  const enclosingFailed = new WeakSet<object>();
  const handle = (sup: Supervisor, d: Desired, events: RunEvents): RunHandle => {
    let last: SupervisorState = sup.state;
    const fence = leaseFiles(stateFile(d));
    let leased: number | undefined;
    sup.on("state", (s) => {
      const prev = last;
      last = s;
      if (s.state === "running" && prev.state !== "running") events.onRunning(s.quick);
      else if (s.state === "backoff") events.onRestart(s.reason ?? "process exited");
      else if (s.state === "failed") events.onFailed(s.reason ?? "the process kept exiting");
    });
    return {
      pid: () => last.pid ?? 0,
      restarts: () => last.restarts,
      quick: () => (last.state === "running" ? last.quick : undefined),
      // cgroupEnforced is set only when limits were asked for; no limits, nothing to report.
      resources: () => ({ enforced: last.cgroupEnforced ?? false, note: last.cgroupEnforced === false ? (last.cgroupReason ?? "not possible on this host") : "" }),
      stop: async () => {
        // First: the watchdog sees no lease, exits, and never signals the service while we stop it.
        removeLease(fence);
        await sup.stop();
      },
      tail: (n) => sup.tail(n),
      follow: (onData) => {
        // A 64 KiB read may end inside a character: the decoder keeps its first bytes for the next.
        const dec = new StringDecoder("utf8");
        return sup.follow((b) => onData(dec.write(b)));
      },
      close: () => void sup.detach(),
      enclose: (pid) => {
        const cgroup = sup.runCgroup();
        if (!cgroup) return;
        // Its start time now, while it cannot have been reaped: the move checks it is still the same process.
        const startTime = readProcStat(pid)?.startTime;
        joinCgroupAsync(cgroup, pid, startTime).catch((err: NodeJS.ErrnoException) => {
          // A check that ended before its move, or a run that ended meanwhile (its cgroup gone), is no news.
          if (err.code === "ESRCH" || err.code === "ENOENT") return;
          // Once a run: a move that fails keeps failing, at every check.
          if (enclosingFailed.has(cgroup)) return deps.log.debug({ instance: d.instance, pid, err }, "could not move an exec health check into the instance's cgroup");
          enclosingFailed.add(cgroup);
          deps.log.warn({ instance: d.instance, pid, err }, "could not move an exec health check into the instance's cgroup; its checks run outside it");
        });
      },
      ...(d.spec.failover.stopAfterDisconnectMs > 0
        ? {
            renewLease: (deadlineMono: number): void => {
              // Written when it moves (each heartbeat), not on every check.
              if (leased === deadlineMono) return;
              writeLease(fence.lease, deadlineMono);
              leased = deadlineMono;
              ensureWatchdog(fence);
            },
          }
        : {}),
    };
  };

  return {
    cache,
    runAs: deps.runAs ?? ((spec) => serviceUser(spec, { allowRoot: deps.allowRoot ?? false, homesDir: join(deps.dataDir, "homes") })),

    async fetch(spec: ServiceSpec, signal: AbortSignal, who?: RunAs): Promise<string | null> {
      const a = spec.artifact;
      if (!a) return null;
      if (!(await cache.has(a.sha256))) {
        if (a.kind === "url") await cache.fetchUrl(a.url, a.sha256, { signal });
        else await cache.put(a.sha256, deps.fetchStored(a.sha256, signal));
      } else await cache.touch(a.sha256); // used again: the last a sweep removes
      return cache.unpacked(a.sha256, who?.ids);
    },

    async sweep(inUse: string[], instance?: string): Promise<void> {
      const keepLogs = deps.keepLogs ?? DEFAULT_KEEP_LOGS;
      // On its own: logs that cannot be swept (a folder made read-only) must not keep artifacts from going.
      try {
        const logsGone = await sweepLogs(logDir, instance, keepLogs);
        if (logsGone.length > 0) deps.log.info({ instances: logsGone, kept: keepLogs }, "removed the logs of instances that left this host");
      } catch (err) {
        deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, "removing the logs of instances that left this host failed; the next change tries again");
      }
      const spare = deps.keepArtifacts ?? DEFAULT_KEEP_ARTIFACTS;
      // Each install of an artifact that goes is forgotten first (forgetInstalls).
      const removed = await cache.sweep(inUse, spare, (r) => forgetInstalls(stateDir, r).then(() => undefined));
      if (removed.length === 0) return;
      deps.log.info({ removed: removed.map((d) => d.slice(0, 12)), kept: spare }, "removed artifacts no longer used");
      deps.onSwept?.(await cache.list());
    },

    async install(spec, dir, onOutput, signal, who): Promise<void> {
      const started = performance.now();
      const took = (): number => (performance.now() - started) / 1000;
      try {
        const r = await install({ spec, artifactDir: dir, stateDir, onOutput, signal, ...(who?.ids ? { runAs: who.ids } : {}) });
        deps.onInstall?.({ outcome: r.skipped ? "skipped" : "installed", seconds: took() });
      } catch (err) {
        deps.onInstall?.({ outcome: "failed", seconds: took() });
        throw err;
      }
    },

    async start(d, cwd, env, events, secretEnvFile = "", who, leaseDeadlineMono): Promise<RunHandle> {
      const { spec } = d;
      const limits = spec.resources.cpu > 0 || spec.resources.memoryMb > 0 ? { cpu: spec.resources.cpu, memoryMb: spec.resources.memoryMb } : null;
      const sup = new Supervisor({
        instanceId: d.instance,
        epoch: d.epoch,
        specHash: specHash(d),
        workDir: cwd,
        command: spec.run.command,
        // ${NAME} from the instance's environment (run.env expanded, BERTH_*): per instance.
        args: expandArgs(spec.run.args, env),
        env,
        secretEnvFile,
        // "" when the agent cannot switch users (it is not root): it runs as the agent.
        user: who ? who.user : spec.run.user,
        // The HOME its install steps and checks have too (a default user's is under the data dir, not passwd's).
        ...(who?.ids ? { home: who.ids.home } : {}),
        stopSignal: spec.run.stopSignal,
        stopTimeoutMs: spec.run.stopTimeoutMs,
        // run.restart, where the spec sets it (else the supervisor's defaults, the same as the spec's).
        ...(spec.run.restart ? { restartPolicy: { initialMs: spec.run.restart.delayMs, maxMs: spec.run.restart.maxDelayMs, maxQuickFailures: spec.run.restart.attempts } } : {}),
        logDir,
        stateFile: stateFile(d),
        cgroup: limits,
        log: deps.log,
      });
      const h = handle(sup, d, events);
      // A self-fencing copy is never without its watchdog: the lease and the watchdog come
      // first, so an agent killed right after the spawn (before its first fence check) still
      // leaves a stopper behind, and the controller's replacement never meets this copy.
      if (leaseDeadlineMono !== undefined) {
        try {
          h.renewLease?.(leaseDeadlineMono);
        } catch (err) {
          deps.log.warn({ instance: d.instance, err }, "writing the fencing lease failed; the next fence check tries again");
        }
      }
      sup.start();
      return h;
    },

    async adopt(d, events): Promise<RunHandle | undefined> {
      const res = await Supervisor.adopt(stateFile(d), { log: deps.log });
      if (!res.adopted) {
        deps.log.info({ instance: d.instance, reason: res.reason }, "nothing to re-adopt");
        return undefined;
      }
      if (res.record.specHash !== specHash(d)) {
        // Not what the assignment on record says: stop it rather than guess.
        removeLease(leaseFiles(stateFile(d)));
        await res.supervisor.stop();
        return undefined;
      }
      // Running already: the converger asks the handle (quick()) once the run is its current one.
      return handle(res.supervisor, d, events);
    },

    fencedWhileAway(d) {
      return takeFencedMark(leaseFiles(stateFile(d)).fencedMark);
    },

    health(spec, cwd, env, onChange, who, enclose) {
      if (!spec.health) return { stop: () => undefined };
      // Exec checks run as the service's user, in the environment its process has (secrets too), in its cgroup.
      const ids = who?.ids;
      const m = new HealthMonitor({ spec: spec.health, host: deps.advertiseAddr(), cwd, env: serviceEnv(process.env, env, ids?.home, ids), uid: ids?.uid, gid: ids?.gid, enclose });
      m.on("transition", (t) => onChange(t.status === "healthy", t.detail));
      m.start();
      return { stop: () => void m.stop() };
    },

    async stopOthers(keep): Promise<Stray[]> {
      let names: string[];
      try {
        names = await readdir(recordDir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw e;
      }
      const out: Stray[] = [];
      for (const name of names) {
        if (!name.endsWith(RECORD) || name === `${keep}${RECORD}`) continue;
        // adopt() checks pid + start time, and cleans up after a run that is gone.
        const res = await Supervisor.adopt(join(recordDir, name), { log: deps.log });
        if (!res.adopted) {
          deps.log.info({ file: name, reason: res.reason }, "a supervisor record named no live process");
          continue;
        }
        const { record } = res;
        removeLease(leaseFiles(join(recordDir, name)));
        const end = await res.supervisor.stop();
        out.push({
          service: record.config.env.BERTH_SERVICE ?? "",
          instance: record.instanceId,
          epoch: record.epoch,
          revision: Number(record.config.env.BERTH_VERSION ?? 0) || 0,
          pid: record.pid,
          outcome: end.reason ?? end.state,
        });
      }
      return out;
    },

    departedLogs(service, except, lines) {
      return departedOutput(logDir, service, except, lines);
    },

    async installLog(d): Promise<string> {
      try {
        return await readFile(installLogPath(stateDir, installKey(d.spec)), "utf8");
      } catch {
        return "[berth: no install output on this host]\n";
      }
    },
  };
}
