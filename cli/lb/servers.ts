/**
 * The servers a load balancer should have, from an endpoints list: one per copy in
 * service, named so that the same copy always gets the same name (a rollout's new
 * epoch on the same host is the same address, so the same server). Pure.
 */
import type { Endpoint__Output } from "../../shared/gen/berth/v1/Endpoint.js";

export interface Server {
  /** [A-Za-z0-9_.-]: valid as an HAProxy server name and in an nginx comment. */
  name: string;
  address: string;
  port: number;
}

/** `web-0` on host `3f2a…` → `web-0_3f2a…`; anything outside HAProxy's name alphabet becomes `_`. */
export function serverName(instance: string, host: string): string {
  return `${instance}_${host}`.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 100);
}

export interface DesiredServers {
  servers: Server[];
  /** Endpoints that cannot be a server (no port and no --port), each said why. */
  skipped: string[];
}

/**
 * `portOverride`: the port to send traffic to when it is not the health check's (the
 * endpoints carry the check's port, 0 when the service has none).
 */
export function desiredServers(eps: readonly Endpoint__Output[], portOverride?: number): DesiredServers {
  const servers: Server[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const e of eps) {
    const port = portOverride ?? e.port;
    if (!port) {
      skipped.push(`${e.instance} on ${e.host}: the service has no http/tcp health check port; give --port`);
      continue;
    }
    const name = serverName(e.instance, e.host);
    if (seen.has(name)) continue;
    seen.add(name);
    servers.push({ name, address: e.address, port });
  }
  return { servers: servers.sort((a, b) => a.name.localeCompare(b.name)), skipped };
}

/** `10.0.0.2:8080`, `[fd00::2]:8080`. */
export function hostPort(s: Pick<Server, "address" | "port">): string {
  return s.address.includes(":") ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}
