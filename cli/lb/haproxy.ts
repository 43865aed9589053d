/**
 * The HAProxy shell: reads the backend's servers and sessions from the runtime
 * API, runs the plan of haproxy-plan.ts, re-renders the config file so a restart
 * comes up with the same servers. Never reloads HAProxy.
 */
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { Driver, LbStepError, type DriverDeps } from "./driver.js";
import { HaproxyConfigError, renderHaproxyConfig } from "./haproxy-config.js";
import { busyPerServer, HaproxyParseError, parseServersState, parseStatSessions, parseStreamsPerServer, planHaproxy } from "./haproxy-plan.js";
import { HaproxyCommandError, haproxyCommand, HaproxySocketError, isSuccess } from "./haproxy-socket.js";

export interface HaproxyOptions {
  service: string;
  backend: string;
  socket: string;
  /** The config file to keep in step; undefined: the runtime API only. */
  config?: string;
  serverOptions?: string;
}

/** While a server drains, its sessions are looked at this often. @default 250 ms */
export const DRAIN_POLL_MS = 250;

export class HaproxyDriver extends Driver {
  private drainingSince = new Map<string, number>();
  private renderedFor = "";

  constructor(
    d: DriverDeps,
    private readonly o: HaproxyOptions,
  ) {
    super(d);
  }

  private async run(command: string): Promise<string> {
    try {
      return await haproxyCommand(this.o.socket, command);
    } catch (err) {
      if (err instanceof HaproxySocketError) throw new LbStepError("socket", err.message, { cause: err });
      throw err;
    }
  }

  protected async step(): Promise<number | null> {
    const want = this.desired;
    if (!want) return null;
    const be = this.o.backend;
    let current, conns;
    try {
      current = parseServersState(await this.run(`show servers state ${be}`), be);
      conns = parseStatSessions(await this.run(`show stat ${be} 4 -1`), be);
      // A stream waiting to retry its connect is on its server without a session:
      // only `show sess` sees it. Asked only while a server is leaving (the list can be long).
      const wanted = new Set(want.servers.map((s) => s.name));
      if (current.some((s) => !wanted.has(s.name) && s.admin !== "ready")) conns = busyPerServer(conns, parseStreamsPerServer(await this.run("show sess"), be));
    } catch (err) {
      if (err instanceof HaproxyParseError) throw new LbStepError("command", `backend ${be}: ${err.message}`, { cause: err });
      throw err;
    }
    const now = this.d.now();
    const plan = planHaproxy({ backend: be, desired: want.servers, current, conns, drainingSince: this.drainingSince, drainTimeMs: want.drainTimeMs, nowMs: now, serverOptions: this.o.serverOptions });
    let changed = false;
    let deletePending = false;
    for (const c of plan.commands) {
      const answer = await this.run(c.text);
      if (isSuccess(answer)) {
        this.d.log.info({ server: c.server, command: c.text }, "haproxy: done");
        // Retiring a server that already left changes nothing in service.
        if (c.kind !== "del" && c.kind !== "maint" && c.kind !== "shutdown") changed = true;
        continue;
      }
      // HAProxy refuses to delete a server with idle connections left: it is in
      // maintenance (no traffic); the next pass tries again.
      if (c.kind === "del") {
        this.d.log.debug({ server: c.server, answer: answer.trim() }, "haproxy: delete refused for now");
        deletePending = true;
        continue;
      }
      throw new LbStepError("command", new HaproxyCommandError(c.text, answer).message);
    }
    this.drainingSince = plan.drainingSince;
    await this.renderConfig(want.servers);
    if (changed) this.d.metrics.tookChange(want.servers.length, now);
    if (changed || this.applied.version !== want.version) this.setApplied({ version: want.version, appliedAtMs: now, servers: want.servers.length, error: "" });
    return plan.waiting.length > 0 || deletePending ? DRAIN_POLL_MS : null;
  }

  /** The config file with the servers in service; written (atomically, same mode) only when it differs. */
  private async renderConfig(servers: readonly { name: string; address: string; port: number }[]): Promise<void> {
    const path = this.o.config;
    if (!path) return;
    const key = JSON.stringify(servers);
    if (key === this.renderedFor) return;
    try {
      const before = await readFile(path, "utf8");
      const after = renderHaproxyConfig(before, this.o.backend, servers, { service: this.o.service, serverOptions: this.o.serverOptions });
      if (after !== before) {
        const tmp = `${path}.berth-tmp`;
        await writeFile(tmp, after, { mode: (await stat(path)).mode & 0o777 });
        await rename(tmp, path);
        this.d.log.info({ config: path, servers: servers.length }, "haproxy: config file re-rendered");
      }
      this.renderedFor = key;
    } catch (err) {
      const why = err instanceof HaproxyConfigError ? err.message : (err as Error).message;
      throw new LbStepError("config", `${path}: ${why} (the runtime state is applied; a restart of HAProxy would not have it)`, { cause: err });
    }
  }
}
