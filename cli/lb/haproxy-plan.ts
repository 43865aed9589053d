/**
 * HAProxy, pure: what the runtime API must be told to bring a backend from what it
 * has (`show servers state`) to the servers in service, with the sessions each
 * server still holds (`show stat`, and `show sess` for a server that is leaving)
 * and `now`. No reload: servers are added and
 * removed live (HAProxy 2.6, no experimental mode needed).
 *
 *   new copy         add server (it comes up in maintenance) → set state ready
 *   copy that left   set state drain at once (no new requests; the ones in flight
 *                    finish); once it holds no session: set state maint, and on a
 *                    later pass, still without sessions, del server. Once
 *                    drainTime is over with sessions left: set state maint and
 *                    shutdown sessions server (asked again on each pass while
 *                    any remain), del server once they are 0.
 *
 * Never `del server` while a stream is on the server: HAProxy 2.6 only checks
 * connections and the queue, so a stream still pointing at the deleted server
 * (one waiting to retry a failed connect, which scur does not count) crashes it (segfault about a second later; HAProxy issue 2323, fixed in 2.9
 * and 2.8 by "don't delete a dynamic server that has streams", not in Debian
 * 12's 2.6.12). `shutdown sessions` only schedules the streams' end, hence the
 * later pass. Maintenance first, as `del server` requires, and so no new
 * session reaches the server between two passes.
 *
 * Adds and enables come first, so capacity arrives before any leaves.
 */
import type { Server } from "./servers.js";
import { hostPort } from "./servers.js";

export type AdminState = "ready" | "drain" | "maint";

export interface CurrentServer {
  name: string;
  address: string;
  port: number;
  admin: AdminState;
}

export type Command =
  | { kind: "add"; server: string; text: string }
  | { kind: "addr"; server: string; text: string }
  | { kind: "ready"; server: string; text: string }
  | { kind: "drain"; server: string; text: string }
  | { kind: "maint"; server: string; text: string }
  | { kind: "shutdown"; server: string; text: string }
  | { kind: "del"; server: string; text: string };

export interface PlanInput {
  backend: string;
  desired: readonly Server[];
  current: readonly CurrentServer[];
  /**
   * Sessions per server (scur), or the streams still on it (`show sess`) where
   * more; a server missing here counts as busy.
   */
  conns: ReadonlyMap<string, number>;
  /** When each leaving server began to drain (this process's memory; lost on restart, then "now"). */
  drainingSince: ReadonlyMap<string, number>;
  drainTimeMs: number;
  nowMs: number;
  /** Appended to `add server` (e.g. `maxconn 100`), as in the rendered config. */
  serverOptions?: string;
}

export interface Plan {
  commands: Command[];
  drainingSince: Map<string, number>;
  /** Servers leaving still (waiting for their sessions to end, or drainTime): the shell looks again soon. */
  waiting: string[];
}

export function planHaproxy(p: PlanInput): Plan {
  const be = p.backend;
  const cmds: Command[] = [];
  const want = new Map(p.desired.map((s) => [s.name, s]));
  const have = new Map(p.current.map((s) => [s.name, s]));
  const drainingSince = new Map<string, number>();
  const waiting: string[] = [];
  const opts = p.serverOptions?.trim() ? ` ${p.serverOptions.trim()}` : "";

  for (const s of p.desired) {
    const cur = have.get(s.name);
    if (!cur) {
      cmds.push({ kind: "add", server: s.name, text: `add server ${be}/${s.name} ${hostPort(s)}${opts}` });
      cmds.push({ kind: "ready", server: s.name, text: `set server ${be}/${s.name} state ready` });
      continue;
    }
    if (cur.address !== s.address || cur.port !== s.port) {
      cmds.push({ kind: "addr", server: s.name, text: `set server ${be}/${s.name} addr ${s.address} port ${s.port}` });
    }
    // A copy that drained and came back into service (a cancelled drain) is enabled again.
    if (cur.admin !== "ready") cmds.push({ kind: "ready", server: s.name, text: `set server ${be}/${s.name} state ready` });
  }

  for (const cur of p.current) {
    if (want.has(cur.name)) continue;
    const name = cur.name;
    const maint = (): Command => ({ kind: "maint", server: name, text: `set server ${be}/${name} state maint` });
    const shutdown = (): Command => ({ kind: "shutdown", server: name, text: `shutdown sessions server ${be}/${name}` });
    switch (cur.admin) {
      case "ready":
        // Out of rotation now: drainTime counts from here.
        cmds.push({ kind: "drain", server: name, text: `set server ${be}/${name} state drain` });
        drainingSince.set(name, p.nowMs);
        waiting.push(name);
        break;
      case "drain": {
        const since = p.drainingSince.get(name) ?? p.nowMs;
        const conns = p.conns.get(name);
        drainingSince.set(name, since);
        waiting.push(name);
        if (conns === 0) {
          cmds.push(maint());
        } else if (p.nowMs >= since + p.drainTimeMs) {
          cmds.push(maint(), shutdown());
        }
        break;
      }
      case "maint": {
        const since = p.drainingSince.get(name) ?? p.nowMs;
        const conns = p.conns.get(name);
        if (conns === 0) {
          // Refused while idle connections remain: the shell looks again.
          cmds.push({ kind: "del", server: name, text: `del server ${be}/${name}` });
          break;
        }
        drainingSince.set(name, since);
        waiting.push(name);
        if (p.nowMs >= since + p.drainTimeMs) cmds.push(shutdown());
        break;
      }
      default:
        return assertNever(cur.admin);
    }
  }
  return { commands: cmds, drainingSince, waiting };
}

function assertNever(x: never): never {
  throw new Error(`unexpected ${String(x)}`);
}

/** srv_admin_state bits (HAProxy's SRV_ADMF_*): FMAINT 0x01, IMAINT 0x02, CMAINT 0x04, FDRAIN 0x08, IDRAIN 0x10, RMAINT 0x20, HMAINT 0x40. */
const MAINT_BITS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const DRAIN_BITS = 0x08 | 0x10;

export class HaproxyParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HaproxyParseError";
  }
}

/**
 * Parses `show servers state BACKEND` (format version 1: a version line, a header
 * line naming the columns, then one line per server). Columns are found by name, so
 * a later HAProxy adding columns does not break it.
 */
export function parseServersState(text: string, backend: string): CurrentServer[] {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const header = lines.find((l) => l.startsWith("#"));
  if (!header) {
    // HAProxy answers one line of its own for an unknown backend.
    throw new HaproxyParseError(lines.length ? lines.join(" ") : `empty answer to show servers state ${backend}`);
  }
  const cols = header.replace(/^#\s*/, "").split(/\s+/);
  const at = (name: string): number => {
    const i = cols.indexOf(name);
    if (i < 0) throw new HaproxyParseError(`show servers state: no column ${name} in "${header}"`);
    return i;
  };
  const [iBe, iName, iAddr, iPort, iAdmin] = [at("be_name"), at("srv_name"), at("srv_addr"), at("srv_port"), at("srv_admin_state")];
  const out: CurrentServer[] = [];
  for (const l of lines) {
    if (l.startsWith("#") || /^\d+$/.test(l)) continue;
    const f = l.split(/\s+/);
    if (f[iBe] !== backend) continue;
    const admin = Number(f[iAdmin]);
    if (!Number.isInteger(admin)) throw new HaproxyParseError(`show servers state: srv_admin_state "${f[iAdmin]}" in "${l}"`);
    out.push({
      name: f[iName] ?? "",
      address: f[iAddr] ?? "",
      port: Number(f[iPort]),
      admin: admin & MAINT_BITS ? "maint" : admin & DRAIN_BITS ? "drain" : "ready",
    });
  }
  return out;
}

/** Parses `show stat BACKEND 4 -1` (CSV): current sessions (scur) per server. */
export function parseStatSessions(csv: string, backend: string): Map<string, number> {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0]?.replace(/^#\s*/, "").split(",") ?? [];
  const iPx = header.indexOf("pxname");
  const iSv = header.indexOf("svname");
  const iCur = header.indexOf("scur");
  if (iPx < 0 || iSv < 0 || iCur < 0) throw new HaproxyParseError(`show stat: no pxname/svname/scur header in "${(lines[0] ?? "").slice(0, 120)}"`);
  const out = new Map<string, number>();
  for (const l of lines.slice(1)) {
    const f = l.split(",");
    const sv = f[iSv];
    if (f[iPx] !== backend || sv === undefined || sv === "BACKEND" || sv === "FRONTEND") continue;
    out.set(sv, Number(f[iCur] ?? "0") || 0);
  }
  return out;
}

/**
 * Parses `show sess` (one line per stream: `0x…: proto=… src=… fe=… be=BACKEND
 * srv=SERVER ts=…`): the streams per server of the backend. A stream keeps its
 * server while it waits to retry a failed connect (1 s turn-around), when scur no
 * longer counts it; deleting the server then crashes HAProxy 2.6 once it retries.
 */
export function parseStreamsPerServer(text: string, backend: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of text.split("\n")) {
    const m = / be=(\S+) srv=(\S+)/.exec(l);
    if (!m || m[1] !== backend || m[2] === "<none>") continue;
    const srv = m[2]!;
    out.set(srv, (out.get(srv) ?? 0) + 1);
  }
  return out;
}

/** Sessions per server as the plan counts them: the larger of scur and the streams on it. */
export function busyPerServer(scur: ReadonlyMap<string, number>, streams: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map(scur);
  for (const [srv, n] of streams) out.set(srv, Math.max(n, out.get(srv) ?? 0));
  return out;
}
